import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlan, type Change } from '@lab/core';
import { loadLab } from '@lab/intent';
import { apiPath } from '@lab/pve';
import { projectVmCreates, vmStates } from '../../engine/src/up/projection.js';
import { unconfirmed } from '../../engine/src/up/run-layers.js';
import { lab, WORKSPACE } from './_harness.js';
import { startSimProcess, type SimProcess } from './_sim-process.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

// `lab up` / `lab down` through main() on a scratch copy of the example lab, on a simulator in
// its own process with records-only guests (`guests: none`): L0–L2 for real, L3/L4 reported as
// skipped. The real-guest path (L3 planned from intent, then against the guest) is in drift.test.ts.
const PERSONAS = ['edge', 'identity', 'media', 'monitoring', 'tinker'];

interface DocChange {
  readonly address: string;
  readonly action: string;
  readonly impact: string;
  readonly reason?: string;
  readonly diff: { path: string; note?: string }[];
}
interface UpDoc {
  readonly ok: boolean;
  readonly plan: { layers: string[]; changes: DocChange[]; diagnostics: { severity: string; code: string }[] };
  readonly projected: Record<string, string[]>;
  readonly skipped: { layer: string; reason: string }[];
  readonly layers: { layer: string; status: string; changes: number }[];
  readonly error?: { code: string; summary: string; hint: string };
}

let s: ScratchLab;
let sim: SimProcess;
beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'lab-up-'));
  s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none') });
  process.env.LAB_AGE_KEY_FILE = s.identityFile;
  sim = await startSimProcess(s.root);
}, 120_000);
afterAll(async () => {
  await sim?.stop();
});

function journal(): { command: string; result: string; personas: string[]; layers: string[]; changes: { address: string; action: string }[] }[] {
  const dir = join(s.root, 'journal');
  return readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

/** NDJSON reporter events on stderr (--json -v). */
function events(stderr: string): { type: string; name?: string; message?: string; title?: string }[] {
  return stderr.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

describe('combined plan and re-plan guard (pure)', () => {
  const c = (address: string, action: Change['action'], impact: Change['impact'] = 'none', before?: unknown): Change =>
    ({ address, layer: address.split('/')[1], kind: 'x', action, impact, diff: [], sensitivePaths: [], steps: [], ...(before ? { before } : {}) }) as unknown as Change;
  const plan = (changes: Change[]) => createPlan({ labVersion: 't', changes });

  it('a re-planned layer may not destroy or recreate what the confirmed plan did not show', () => {
    const confirmed = plan([c('media/l2/vm', 'delete', 'recreate'), c('edge/l2/vm', 'update', 'reboot')]);
    expect(unconfirmed(plan([c('media/l2/vm', 'delete', 'recreate'), c('edge/l2/vm', 'update', 'reboot'), c('tinker/l2/vm', 'update', 'restart')]), confirmed)).toEqual([]);
    expect(unconfirmed(plan([c('tinker/l2/vm', 'delete', 'data-loss'), c('edge/l2/vm', 'replace', 'recreate')]), confirmed).map((x) => x.address)).toEqual(['tinker/l2/vm', 'edge/l2/vm']);
  });

  it('a VM waiting for a template L1 builds in the same run is a projected create; anything else stays an error', async () => {
    const l = await loadLab(s.root);
    const media = l.personas.filter((p) => p.name === 'media');
    const noTemplate = { severity: 'error' as const, code: 'LAB_L2_NO_TEMPLATE', summary: 'no template', address: 'media/l2/vm' as Change['address'] };
    const l2 = createPlan({ labVersion: 't', personas: ['media'], layers: ['l2'], diagnostics: [noTemplate] });
    // The example personas run on the baked image (adr/0145); its version is derived.
    const baked = l.site.site.images.find((i) => i.name === 'debian-12-docker')!.stable;
    const building = createPlan({ labVersion: 't', changes: [c(`_site/l1/image[debian-12-docker@${baked}]`, 'create')] });
    const projected = projectVmCreates(building, l2, media, l.site.site, 't');
    expect(projected.projected).toEqual(['media']);
    expect(projected.plan.diagnostics).toEqual([]);
    expect(projected.plan.changes[0]).toMatchObject({ address: 'media/l2/vm', action: 'create', impact: 'none' });
    expect(vmStates(projected.plan, ['media', 'edge'])).toEqual(new Map([['media', 'absent'], ['edge', 'unknown']]));

    const otherImage = createPlan({ labVersion: 't', changes: [c('_site/l1/image[debian-12@20250210-2019]', 'create')] });
    expect(projectVmCreates(otherImage, l2, media, l.site.site, 't').plan.diagnostics).toEqual([noTemplate]);
    expect(vmStates(plan([c('media/l2/vm', 'update', 'none', { status: 'stopped' }), c('edge/l2/vm', 'noop', 'none', { status: 'running' })]), ['media', 'edge'])).toEqual(new Map([['media', 'stopped'], ['edge', 'running']]));
  });
});

describe('lab up on a fresh lab', () => {
  it('shows one combined plan (L2 creates planned from intent), then plans each layer again right before applying it', async () => {
    const r = await lab('up', '-y', '--json', '-v', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as UpDoc;
    expect(doc.ok).toBe(true);
    expect(doc.plan.layers).toEqual(['l0', 'l1', 'l2']);
    expect(doc.plan.changes.find((c) => c.address === '_site/l1/image[debian-12@20250210-2019]')?.action).toBe('create');
    // The templates do not exist before L1 runs, so each VM is a create waiting on L1, not an error.
    const vm = doc.plan.changes.find((c) => c.address === 'media/l2/vm')!;
    expect(vm).toMatchObject({ action: 'create', impact: 'none' });
    const baked = (await loadLab(s.root)).site.site.images.find((i) => i.name === 'debian-12-docker')!.stable;
    expect(doc.plan.changes.find((c) => c.address === `_site/l1/image[debian-12-docker@${baked}]`)?.action).toBe('create');
    expect(vm.reason).toBe(`planned from intent: the template debian-12-docker@${baked} does not exist until L1 has built it`);
    expect(vm.diff.map((d) => d.path)).toEqual(expect.arrayContaining(['node', 'template', 'cores', 'memory', 'disk.library']));
    expect(doc.projected['l2']?.sort()).toEqual(PERSONAS);
    expect(doc.plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(doc.skipped.map((x) => x.layer)).toEqual(['l3', 'l4']);
    expect(doc.skipped[0]!.reason).toContain('guests: none');
    // L1: debian-12 and debian-13 from their cloud images, debian-12-docker baked from debian-12.
    expect(doc.layers.map((o) => [o.layer, o.status, o.changes])).toEqual([['l0', 'applied', 25], ['l1', 'applied', 3], ['l2', 'applied', 5]]);

    // The L2 plan that was applied was made after L1 had built the templates (the combined
    // plan's L2 creates carry no template and could not have been applied).
    const ev = events(r.stderr);
    const templated = ev.findLastIndex((e) => e.type === 'step.start' && /convert VM \d+ to a template/.test(e.title ?? ''));
    const replanned = ev.findIndex((e) => e.type === 'log' && e.message === 'L2 planned again against the lab as it is now: 5 changes');
    const cloned = ev.findIndex((e) => e.type === 'step.start' && /clone template \d+ → \d+ \(media\)/.test(e.title ?? ''));
    expect(templated).toBeGreaterThan(0);
    expect(replanned).toBeGreaterThan(templated);
    expect(cloned).toBeGreaterThan(replanned);
  }, 180_000);

  it('a second lab up prints no changes and exits 0, and only the first run is journalled', async () => {
    const r = await lab('up', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('No changes. The lab matches its intent.');
    expect(r.stderr).toContain('L3 skipped: lab.yaml sets proxmox.guests: none');
    expect(r.stderr).not.toContain('lab up complete');
    const ups = journal().filter((e) => e.command === 'up');
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ result: 'ok', personas: PERSONAS, layers: ['l0', 'l1', 'l2'] });
    expect(ups[0]!.changes).toContainEqual(expect.objectContaining({ address: 'media/l2/vm', action: 'create' }));
  }, 120_000);
});

describe('lab down', () => {
  it('destroys the VM but keeps its persistent data disk; lab up brings the persona back with it', async () => {
    const down = await lab('down', '--persona', 'media', '-y', '--json', '--root', s.root);
    expect(down.code, down.stderr).toBe(0);
    const doc = JSON.parse(down.stdout) as UpDoc;
    const vm = doc.plan.changes.find((c) => c.address === 'media/l2/vm')!;
    expect(vm).toMatchObject({ action: 'delete', impact: 'recreate' });
    expect(vm.diff.find((d) => d.path === 'disk.library')?.note).toBe('detached and retained');
    expect(doc.plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address)).toEqual(['media/l2/vm']);
    expect(doc.layers.map((o) => [o.layer, o.status])).toEqual([['l2', 'applied']]);

    const admin = sim.admin();
    const vms = (await admin.get<{ vmid: number; type: string }[]>(apiPath('cluster', 'resources'), { type: 'vm' })).map((v) => v.vmid);
    expect(vms).not.toContain(120);
    const content = await admin.get<{ volid: string }[]>(apiPath('nodes', 'pve1', 'storage', 'local-lvm', 'content'));
    expect(content.map((c) => c.volid)).toContain('local-lvm:vm-999999999-lab_media_library');

    const up = await lab('up', '--persona', 'media', '-y', '--json', '--root', s.root);
    expect(up.code, up.stderr).toBe(0);
    expect((JSON.parse(up.stdout) as UpDoc).layers.map((o) => [o.layer, o.status])).toEqual([['l0', 'unchanged'], ['l1', 'unchanged'], ['l2', 'applied']]);
    const config = await admin.get<Record<string, string>>(apiPath('nodes', 'pve1', 'qemu', '120', 'config'));
    expect(Object.values(config).some((v) => String(v).startsWith('local-lvm:vm-999999999-lab_media_library'))).toBe(true);
  }, 120_000);

  it('refuses protected personas before touching anything, even with --all', async () => {
    for (const scope of [['--persona', 'identity'], ['--all']]) {
      const r = await lab('down', ...scope, '-y', '--root', s.root);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('LAB_DOWN_PROTECTED');
      expect(r.stderr).toContain('identity has vm.protection: true');
    }
    const vms = (await sim.admin().get<{ vmid: number }[]>(apiPath('cluster', 'resources'), { type: 'vm' })).map((v) => v.vmid);
    expect(vms).toEqual(expect.arrayContaining([100, 101, 110, 120, 130]));
    expect((await lab('down', '--root', s.root)).stderr).toContain('down needs --persona <name> (or --all)');
  }, 60_000);
});

describe('lab up that fails', () => {
  it('stops at the failing layer, says what was applied before it and how to resume; lab up again converges', async () => {
    expect((await lab('down', '--persona', 'tinker', '-y', '--root', s.root)).code).toBe(0);
    await sim.control('/_sim/faults/task', { type: 'qmclone', message: 'storage local-lvm is full', times: 1 });

    const failed = await lab('up', '-y', '--root', s.root);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('Error [LAB_UP_FAILED]: lab up stopped at L2 (VMs)');
    expect(failed.stderr).toContain('storage local-lvm is full');
    expect(failed.stderr).toContain('done before it: L0 (nothing to change), L1 (nothing to change)');
    expect(failed.stderr).toContain('resume with `lab up --root');
    expect(failed.stderr).toMatch(/L2\s+VMs\s+FAILED after 1 planned change/);
    expect(failed.stderr).toMatch(/L3\s+guest operating systems\s+skipped/);
    expect(journal().filter((e) => e.command === 'up').at(-1)).toMatchObject({ result: 'failed' });

    const again = await lab('up', '-y', '--root', s.root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/L2\s+VMs\s+1 change applied/);
    expect((await lab('up', '--root', s.root)).stderr).toContain('No changes.');
  }, 120_000);
});
