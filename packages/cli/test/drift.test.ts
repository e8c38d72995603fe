import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { apiPath } from '@lab/pve';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { dropBakes, lab, WORKSPACE } from './_harness.js';
import { startSimProcess, type SimProcess } from './_sim-process.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';
import { createPlan, type Change, type Diagnostic } from '@lab/core';
import { classify, summarize, toItem, type DriftReport } from '../../engine/src/drift/report.js';

function journal(root: string): { command: string; personas: string[]; result: string; details?: Record<string, unknown> }[] {
  const dir = join(root, 'journal');
  return readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

const change = (address: string, action: Change['action'], extra: Partial<Change> = {}): Change =>
  ({ address, layer: address.split('/')[1], kind: 'x', action, impact: 'none', diff: [], sensitivePaths: [], steps: [], ...extra }) as Change;
const planOf = (changes: Change[], diagnostics: Diagnostic[] = [], personas = ['media']) => createPlan({ labVersion: 't', personas, changes, diagnostics, mode: 'check' });

describe('drift classification (pure)', () => {
  it('L2: a VM to create is missing, a VM that differs is drift, noops are clean', () => {
    expect(classify('l2', 'media', planOf([change('media/l2/vm', 'create')]))).toMatchObject({ verdict: 'missing', drift: [], missing: [{ address: 'media/l2/vm' }] });
    expect(classify('l2', 'media', planOf([change('media/l2/vm', 'update', { diff: [{ path: 'cores', before: '2', after: '4' }] })]))).toMatchObject({ verdict: 'drifted', drift: [{ address: 'media/l2/vm', diff: [{ path: 'cores' }] }] });
    expect(classify('l2', 'media', planOf([change('media/l2/vm', 'noop'), change('edge/l2/vm', 'update')]))).toMatchObject({ verdict: 'clean' });
  });

  it('L2: no template yet means the VM is missing too; any other error is an error', () => {
    const noTemplate: Diagnostic = { severity: 'error', code: 'LAB_L2_NO_TEMPLATE', summary: 'no template of debian-12@1 on node pve1 for media', address: 'media/l2/vm' as Diagnostic['address'] };
    expect(classify('l2', 'media', planOf([], [noTemplate]))).toMatchObject({ verdict: 'missing', missing: [{ address: 'media/l2/vm', kind: 'vm' }] });
    const foreign: Diagnostic = { severity: 'error', code: 'LAB_L2_FOREIGN_VM', summary: 'VM 120 was not made by lab', hint: 'lab adopt', address: 'media/l2/vm' as Diagnostic['address'] };
    expect(classify('l2', 'media', planOf([], [foreign]))).toMatchObject({ verdict: 'error', error: { code: 'LAB_L2_FOREIGN_VM', hint: 'lab adopt' } });
  });

  it('L3: anything pending inside an existing guest is drift, an absent package included; L4: a stack never deployed is missing', () => {
    expect(classify('l3', 'media', planOf([change('media/l3/apt.package[htop]', 'create'), change('media/l3/file[/etc/x]', 'update')])).drift).toHaveLength(2);
    const l4 = classify('l4', 'media', planOf([change('media/l4/stack[jellyfin]', 'create'), change('media/l4/stack[arr]', 'update'), change('media/l4/stack[old]', 'delete')]));
    expect(l4).toMatchObject({ verdict: 'drifted', missing: [{ address: 'media/l4/stack[jellyfin]' }] });
    expect(l4.drift.map((d) => d.address)).toEqual(['media/l4/stack[arr]', 'media/l4/stack[old]']);
  });

  it('masks sensitive values and counts only drift in the verdict', () => {
    const item = toItem(change('media/l4/stack[arr]', 'update', { diff: [{ path: 'env.API_KEY', before: 'old-secret', after: 'new-secret' }, { path: 'env.TOKEN', after: 'x', sensitive: true }, { path: 'env.TZ', before: 'UTC', after: 'Europe/Paris' }], sensitivePaths: ['env.API_KEY'] }));
    expect(item.diff).toEqual([{ path: 'env.API_KEY', before: '***', after: '***' }, { path: 'env.TOKEN', after: '***' }, { path: 'env.TZ', before: 'UTC', after: 'Europe/Paris' }]);
    const missingOnly = summarize([{ persona: 'media', verdict: 'missing', durationMs: 1, layers: [classify('l2', 'media', planOf([change('media/l2/vm', 'create')]))] }], 't', new Date(0));
    expect(missingOnly).toMatchObject({ verdict: 'clean', counts: { drifted: 0, missingPersonas: 1 } });
  });
});

const persona = (r: DriftReport, name: string) => r.personas.find((p) => p.persona === name)!;
const layer = (r: DriftReport, name: string, l: string) => persona(r, name).layers.find((x) => x.layer === l)!;

/**
 * `lab drift` on records-only guests: L2 drift made by hand through the Proxmox API (as in the
 * web UI), told apart from personas that were never created; L3/L4 reported as not checked.
 */
describe('lab drift on the embedded simulator (L2)', () => {
  let s: ScratchLab;
  let sim: SimProcess;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-drift-'));
    s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none') });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    sim = await startSimProcess(s.root);
    const up = await lab('up', '-y', '--root', s.root);
    expect(up.code, up.stderr).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('an up-to-date lab is clean (exit 0); guest layers say why they were not checked; one journal entry per persona', async () => {
    const r = await lab('drift', '--json', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report).toMatchObject({ formatVersion: 1, verdict: 'clean', counts: { personas: 5, drifted: 0, missingPersonas: 0, errors: 0 } });
    expect(layer(report, 'media', 'l2').verdict).toBe('clean');
    expect(layer(report, 'media', 'l3')).toMatchObject({ verdict: 'skipped', note: expect.stringContaining('guests: none') });
    const entries = journal(s.root).filter((e) => e.command === 'drift');
    expect(entries.map((e) => e.personas[0]).sort()).toEqual(['edge', 'identity', 'media', 'monitoring', 'tinker']);
    expect(entries.every((e) => e.result === 'ok' && e.details?.['drifted'] === 0)).toBe(true);
  }, 60_000);

  it('a persona that was never created is missing, not drift: listed, exit 0, its guest never dialled', async () => {
    expect((await lab('down', '--persona', 'tinker', '-y', '--root', s.root)).code).toBe(0);
    const r = await lab('drift', '--persona', 'tinker', '--json', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.verdict).toBe('clean');
    expect(report.counts).toMatchObject({ drifted: 0, missingPersonas: 1 });
    expect(persona(report, 'tinker').verdict).toBe('missing');
    expect(layer(report, 'tinker', 'l2').missing.map((m) => m.address)).toEqual(['tinker/l2/vm']);
    expect(layer(report, 'tinker', 'l3')).toMatchObject({ verdict: 'skipped', note: 'the VM does not exist yet' });
    const human = await lab('drift', '--persona', 'tinker', '--root', s.root);
    expect(human.stdout).toContain('1 persona not created yet');
    expect(human.stdout).toContain('tinker/l2/vm not created yet — `lab up --persona tinker`');
  }, 60_000);

  it('a VM changed by hand is drift: exit 2, the field in json, markdown and text, nothing repaired', async () => {
    await sim.admin().put(apiPath('nodes', 'pve1', 'qemu', '120', 'config'), { cores: 2, onboot: 0 });
    const r = await lab('drift', '--json', '--root', s.root);
    expect(r.code, r.stderr).toBe(2);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.verdict).toBe('drifted');
    expect(report.counts).toMatchObject({ drifted: 1, driftedPersonas: 1, missingPersonas: 1 });
    const media = layer(report, 'media', 'l2');
    expect(media.verdict).toBe('drifted');
    expect(media.drift[0]).toMatchObject({ address: 'media/l2/vm', action: 'update' });
    expect(media.drift[0]!.diff).toContainEqual(expect.objectContaining({ path: 'cores', before: '2', after: '4' }));
    expect(media.drift[0]!.diff.map((d) => d.path)).toContain('onboot');
    expect(persona(report, 'edge').verdict).toBe('clean');

    const md = await lab('drift', '--format', 'markdown', '--root', s.root);
    expect(md.code).toBe(2);
    expect(md.stdout).toMatch(/^## lab drift: 1 drifted change on 1 persona; 1 persona not created yet \(5 personas checked\)/);
    expect(md.stdout).toContain('| persona | L2 | L3 | L4 |');
    expect(md.stdout).toContain('| media | ⚠️ drifted (1) |');
    expect(md.stdout).toContain('| tinker | ➕ not created yet |');
    expect(md.stdout).toContain('### media');
    expect(md.stdout).toContain('`~ cores: 2 → 4');

    const text = await lab('drift', '--persona', 'media', '--root', s.root);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('~ media/l2/vm differs from intent');

    const config = await sim.admin().get<Record<string, unknown>>(apiPath('nodes', 'pve1', 'qemu', '120', 'config'));
    expect(String(config['cores'])).toBe('2');
    const media2 = journal(s.root).filter((e) => e.command === 'drift' && e.personas[0] === 'media').at(-1);
    expect(media2).toMatchObject({ result: 'ok', details: { drifted: 1 } });
  }, 60_000);

  it('lab up repairs the drift and creates what was missing; drift is clean again', async () => {
    const up = await lab('up', '-y', '--allow-reboot', '--root', s.root);
    expect(up.code, up.stderr).toBe(0);
    const r = await lab('drift', '--layer', 'l2', '--json', '--root', s.root);
    expect(r.code, r.stdout).toBe(0);
    expect((JSON.parse(r.stdout) as DriftReport).counts).toMatchObject({ drifted: 0, missingPersonas: 0 });
  }, 60_000);

  it('refuses layers it does not compare and unknown formats', async () => {
    expect((await lab('drift', '--layer', 'l0', '--root', s.root)).stderr).toContain('lab drift compares l2, l3, l4; not l0');
    expect((await lab('drift', '--format', 'yaml', '--root', s.root)).stderr).toContain("unknown format 'yaml'");
  });
});

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

const PROBE = `name: probe
description: A small guest for the drift test.
vm:
  node: pve1
  image: debian-12@stable
  cores: 1
  memory: 512MiB
  disks:
    - { name: root, size: 4G, storage: local-lvm }
  nics:
    - { bridge: vmbr0, vlan: 30, ip: 10.0.30.61/24, gateway: 10.0.30.1 }
os:
  files:
    - path: /etc/lab-probe.conf
      mode: "0644"
      content: |
        managed = true
`;

/**
 * A real Debian guest (simulator Docker backend): `lab up` plans L3 from intent while the VM
 * does not exist, then against the guest; a hand edit in the guest is L3 drift; `lab apply
 * --layer l3` repairs it. One small persona, no apt downloads, so it stays well under a minute.
 */
describe.skipIf(!engine)('lab up and lab drift with a real guest (L3)', () => {
  let root: string;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-drift-guest-'));
    const s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519') });
    rmSync(join(s.root, 'personas'), { recursive: true });
    // The example's personas and mixins are gone; so goes the image baked from them.
    const site = parseDocument(readFileSync(join(s.root, 'lab.yaml'), 'utf8'));
    dropBakes(site);
    writeFileSync(join(s.root, 'lab.yaml'), site.toString());
    mkdirSync(join(s.root, 'personas/probe'), { recursive: true });
    writeFileSync(join(s.root, 'personas/probe/persona.yaml'), PROBE);
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    root = s.root;
  }, 60_000);
  afterAll(() => {
    const instance = guestInstanceName(join(root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }, 60_000);

  const guest = () => {
    const instance = guestInstanceName(join(root, '.lab/sim'));
    return execFileSync('docker', ['ps', '-q', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).trim();
  };

  it('lab up: L3 planned from intent before the VM exists, then against the real guest; a second up changes nothing', async () => {
    const r = await lab('up', '-y', '--json', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { projected: Record<string, string[]>; plan: { changes: { address: string; action: string; reason?: string }[] }; layers: { layer: string; status: string }[] };
    expect(doc.projected).toMatchObject({ l2: ['probe'], l3: ['probe'] });
    const file = doc.plan.changes.find((c) => c.address === 'probe/l3/file[/etc/lab-probe.conf]')!;
    expect(file).toMatchObject({ action: 'create', reason: 'planned from intent (the VM does not exist yet)' });
    expect(doc.layers.map((o) => [o.layer, o.status])).toEqual([['l0', 'applied'], ['l1', 'applied'], ['l2', 'applied'], ['l3', 'applied'], ['l4', 'unchanged']]);
    expect(execFileSync('docker', ['exec', guest(), 'cat', '/etc/lab-probe.conf'], { encoding: 'utf8' })).toBe('managed = true\n');

    const again = await lab('up', '--root', root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('No changes. The lab matches its intent.');
  }, 180_000);

  it('a managed file edited in the guest is L3 drift (exit 2, with its diff); lab apply --layer l3 repairs it', async () => {
    expect((await lab('drift', '--root', root)).code).toBe(0);
    execFileSync('docker', ['exec', guest(), 'sh', '-c', 'echo "managed = false" > /etc/lab-probe.conf']);

    const r = await lab('drift', '--json', '--root', root);
    expect(r.code, r.stderr).toBe(2);
    const l3 = layer(JSON.parse(r.stdout) as DriftReport, 'probe', 'l3');
    expect(l3.verdict).toBe('drifted');
    expect(l3.drift.map((d) => [d.address, d.action])).toEqual([['probe/l3/file[/etc/lab-probe.conf]', 'update']]);
    expect(l3.drift[0]!.unifiedDiff).toContain('-managed = false\n+managed = true');
    expect(execFileSync('docker', ['exec', guest(), 'cat', '/etc/lab-probe.conf'], { encoding: 'utf8' })).toBe('managed = false\n');

    const fix = await lab('apply', '--layer', 'l3', '--persona', 'probe', '-y', '--root', root);
    expect(fix.code, fix.stderr).toBe(0);
    const clean = await lab('drift', '--root', root);
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toMatch(/probe\s+L2 clean\s+L3 clean/);
  }, 120_000);

  it('lab down removes the guest; drift then reports probe as not created yet', async () => {
    const down = await lab('down', '--persona', 'probe', '-y', '--root', root);
    expect(down.code, down.stderr).toBe(0);
    expect(guest()).toBe('');
    const r = await lab('drift', '--json', '--root', root);
    expect(r.code).toBe(0);
    expect(persona(JSON.parse(r.stdout) as DriftReport, 'probe').verdict).toBe('missing');
  }, 120_000);
});
