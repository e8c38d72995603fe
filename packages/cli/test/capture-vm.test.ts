import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lab } from './_harness.js';
import { startScratchSim } from './_scratch-sim.js';
import type { SimProcess } from './_sim-process.js';
import type { ScratchLab } from '../src/scratch-lab.js';
import { readJournal } from '@lab/engine';
import { captureVmInSession } from '@lab/engine';
import { createLayerContext } from '@lab/engine';
import { loadLab } from '@lab/intent';
import { silentReporter } from '@lab/core';

// `lab capture vm|backups` and `lab restore vm` end to end through main(), against the
// simulator in its own process (`lab sim start`), as a real cluster: VMs keep running between
// commands. API-only guests; the template capture over SSH is in capture-vm-template.test.ts.
let s: ScratchLab;
let sim: SimProcess | undefined;

// vzdump names archives by the second: two backups of one VM need a second between them.
const nextSecond = () => new Promise((r) => setTimeout(r, 1_100));

beforeAll(async () => {
  ({ scratch: s, sim } = await startScratchSim('lab-capture-vm-'));
  for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'media,identity', '-y']]) {
    const r = await lab(...argv, '--root', s.root);
    expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await sim?.stop();
});

describe('lab capture vm / backups, lab restore vm (embedded simulator)', () => {
  it('captures one persona with lab notes, and refuses one without capture.vm', async () => {
    const r = await lab('capture', 'vm', '--persona', 'media', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/captured media: local:backup\/vzdump-qemu-120-\S+\.vma\.zst/);
    expect(r.stderr).toContain('media/capture/vm.backup');
    const [entry] = (await readJournal(s.root)).entries;
    expect(entry).toMatchObject({ command: 'capture', personas: ['media'], result: 'ok', details: { kind: 'vm', archive: expect.stringMatching(/^local:backup\/vzdump-qemu-120-/), deleted: 0, kept: 1 } });
    expect(entry!.changes).toEqual([expect.objectContaining({ address: 'media/capture/vm.backup', action: 'create' })]);
    const edge = await lab('capture', 'vm', '--persona', 'edge', '--root', s.root);
    expect(edge.code).toBe(1);
    expect(edge.stderr).toContain('LAB_CAPTURE_VM_DISABLED');
    expect(edge.stderr).toContain('personas/edge/persona.yaml');
  }, 60_000);

  it('--all captures every persona with capture.vm.enabled and reports JSON; retention keeps 2 of media', async () => {
    for (let i = 0; i < 2; i++) {
      await nextSecond();
      const r = await lab('capture', 'vm', '--all', '--json', '--root', s.root);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { persona: string; result: { archive: { volid: string; lab: { persona: string; labVersion: string } }; deleted: unknown[] } }[];
      expect(out.map((x) => x.persona)).toEqual(['identity', 'media']);
      for (const x of out) expect(x.result.archive.lab.persona).toBe(x.persona);
      expect(r.stderr).toContain('skipping edge: no capture.vm.enabled');
      // media keeps 2: the third capture deletes the first.
      expect(out.find((x) => x.persona === 'media')!.result.deleted).toHaveLength(i === 1 ? 1 : 0);
    }
  }, 60_000);

  it('lists the archives, human and JSON', async () => {
    const human = await lab('capture', 'backups', '--persona', 'media', '--root', s.root);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ARCHIVE\s+TIME\s+SIZE\s+PROTECTED\s+NOTES$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^local:backup\/vzdump-qemu-120-\S+\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+[\d.]+ KiB\s+lab:capture persona=media commit=\S+ lab=\S+ vm=media$/);
    const json = await lab('capture', 'backups', '--persona', 'media', '--json', '--root', s.root);
    const archives = JSON.parse(json.stdout) as { volid: string; ctime: number; size: number; notes: string; protected: boolean }[];
    expect(archives).toHaveLength(2);
    expect(archives[0]!.ctime).toBeGreaterThan(archives[1]!.ctime);
    expect(archives[0]).toMatchObject({ protected: false, notes: expect.stringMatching(/^lab:capture persona=media /) });
  }, 30_000);

  it('restores beside the VM by default, refuses its VMID without --force, and asks before overwriting', async () => {
    const copy = await lab('restore', 'vm', '--persona', 'media', '-y', '--root', s.root);
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stderr).toMatch(/restored local:backup\/\S+ as VM \d+ beside media's \(stopped; it has the persona's addresses\)/);
    const refused = await lab('restore', 'vm', '--persona', 'media', '--vmid', '120', '-y', '--root', s.root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('LAB_CAPTURE_RESTORE_FORCE');
    expect(refused.stderr).toContain('--force');
    // No terminal to ask on and no -y: the overwrite is shown, then refused.
    const unconfirmed = await lab('restore', 'vm', '--persona', 'media', '--force', '--root', s.root);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('data-loss');
    expect(unconfirmed.stderr).toContain('LAB_CONFIRM_REQUIRED');
  }, 60_000);

  it('--force -y overwrites the running persona VM: shut down first, restored, running, L2 finds it as its own', async () => {
    const r = await lab('restore', 'vm', '--persona', 'media', '--force', '-y', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('shutting down VM 120 (media) first');
    expect(r.stderr).toMatch(/restored \S+ over VM 120 \(shut down first\) on pve1; verified: config, disks, tags, marker; status running/);
    const [entry] = (await readJournal(s.root)).entries;
    expect(entry).toMatchObject({ command: 'restore', personas: ['media'], result: 'ok', details: { kind: 'vm', mode: 'overwrite', vmid: 120 } });
    expect(entry!.changes).toEqual([expect.objectContaining({ address: 'media/capture/vm.restore[120]', action: 'replace', impact: 'data-loss' })]);
    const plan = await lab('plan', '--layer', 'l2', '--persona', 'media', '--root', s.root, '--json');
    const changes = (JSON.parse(plan.stdout) as { changes: { address: string; action: string; diff: { path: string }[] }[] }).changes;
    // The VM is media's again: no create. The library disk (backup=0) was not in the archive, so
    // it is attached again, and Proxmox restored its drive line as a comment of the description.
    expect(changes.map((c) => `${c.address} ${c.action} ${c.diff.map((d) => d.path).join(',')}`)).toEqual(['media/l2/vm update description,disk.library']);
  }, 60_000);

  it('refuses a template capture into a version lab.yaml declares', async () => {
    const r = await lab('capture', 'template', '--persona', 'media', '--image', 'debian-12', '--version', '20250210-2019', '--address', '10.0.20.250/24', '--root', s.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_CAPTURE_TEMPLATE_DECLARED');
  }, 30_000);

  it('gives lab rebuild its capture-vm step: one capture in an open session', async () => {
    await nextSecond();
    const loaded = await loadLab(s.root);
    const session = createLayerContext(loaded, [], silentReporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const identity = loaded.personas.find((p) => p.name === 'identity')!;
      expect((await captureVmInSession(session, identity)).archive).toMatch(/^local:backup\/vzdump-qemu-130-/);
      await expect(captureVmInSession(session, loaded.personas.find((p) => p.name === 'edge')!)).rejects.toMatchObject({ code: 'LAB_CAPTURE_VM_DISABLED' });
    } finally {
      await session.close();
    }
  }, 30_000);
});
