import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '@lab/core';
import { apiPath, pveList, pveRecord } from '@lab/pve';
import { applyVmRestore, captureVm, observeVmRestore, planVmRestore, vmCaptureIntent, type RestoreCall, type VmCaptureContext, type VmRestoreIntent } from '../src/index.js';
import { REVISION, startVmFixture, type VmFixture } from './vm-fixture.js';

const HOUR = 3_600_000;

describe('lab restore vm against the simulator', () => {
  let fx: VmFixture;
  let ctx: VmCaptureContext;
  const base: VmRestoreIntent = { persona: 'media', storage: 'local', vmid: 120, force: false };
  const config = async (vmid: number, node = 'pve1') => pveRecord(await fx.client.get(apiPath('nodes', node, 'qemu', String(vmid), 'config'))) as Record<string, string>;
  const status = async (vmid: number, node = 'pve1') => pveRecord(await fx.client.get(apiPath('nodes', node, 'qemu', String(vmid), 'status', 'current')))['status'];
  const plan = async (intent: VmRestoreIntent) => planVmRestore(intent, await observeVmRestore(fx.client, intent), { labVersion: '0.1.0' });
  const restore = async (intent: VmRestoreIntent) => applyVmRestore(await plan(intent), { client: fx.client, reporter: fx.reporter, pollMs: 10 });

  beforeAll(async () => {
    fx = await startVmFixture();
    await fx.makePersonaVm(fx.persona('media'), { persistent: true });
    ctx = { client: fx.client, reporter: fx.reporter, labVersion: '0.1.0', revision: REVISION, pollMs: 10 };
    await captureVm(vmCaptureIntent(fx.persona('media')), ctx);
    fx.advance(HOUR);
    await captureVm(vmCaptureIntent(fx.persona('media')), ctx);
  }, 60_000);
  afterAll(async () => fx?.close());

  it('restores the newest archive beside the persona VM by default: new VMID, new MACs, stopped, not lab\'s', async () => {
    const p = await plan(base);
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const change = p.changes[0]!;
    expect(change).toMatchObject({ action: 'create', impact: 'none', address: 'media/capture/vm.restore[100]' });
    const call = change.after as RestoreCall;
    expect(call).toMatchObject({ mode: 'copy', vmid: 100, unique: true, start: false });
    const archives = (await observeVmRestore(fx.client, base)).archives;
    expect(call.archive).toBe(archives[0]!.volid);
    expect(archives[0]!.ctime).toBeGreaterThan(archives[1]!.ctime);
    // media's persistent library disk has backup=0: the plan says it will be missing.
    expect(p.diagnostics.map((d) => d.code)).toContain('LAB_CAPTURE_RESTORE_EXCLUDED');
    const before = await config(120);
    const r = await applyVmRestore(p, { client: fx.client, reporter: fx.reporter, pollMs: 10 });
    expect(r).toMatchObject({ mode: 'copy', vmid: 100, status: 'stopped', stoppedFirst: false });
    const copy = await config(100);
    expect(pveList(copy['tags'])).not.toContain('lab-persona-media');
    expect(pveList(copy['tags'])).toContain('lab-restore');
    expect(copy['description']).toContain(`lab:restored persona=media archive=${call.archive}`);
    expect(copy['description']).not.toContain('lab:managed');
    expect(copy['onboot']).toBe(0);
    expect(copy['net0']).not.toBe(before['net0']);
    expect(copy['scsi0']).toMatch(/vm-100-disk-/);
    // The persona's VM is untouched.
    expect(await config(120)).toEqual(before);
    expect(await status(120)).toBe('running');
  });

  it('refuses to restore over the persona VM without --force', async () => {
    const p = await plan({ ...base, target: 120 });
    expect(p.changes).toEqual([]);
    expect(p.diagnostics).toMatchObject([{ severity: 'error', code: 'LAB_CAPTURE_RESTORE_FORCE' }]);
    expect(p.diagnostics[0]!.hint).toContain('--force');
    await expect(applyVmRestore(p, { client: fx.client, reporter: fx.reporter, pollMs: 10 })).rejects.toMatchObject({ code: 'LAB_CAPTURE_RESTORE_FORCE' });
  });

  it('--force over the running persona VM: stops it first, says so, restores, starts it again with its identity', async () => {
    await fx.client.put(apiPath('nodes', 'pve1', 'qemu', '120', 'config'), { memory: 2048 });
    const p = await plan({ ...base, force: true });
    const change = p.changes[0]!;
    expect(change).toMatchObject({ action: 'replace', impact: 'data-loss', replaceOrder: 'destroy-before-create' });
    expect(change.diff).toContainEqual({ path: 'memory', before: '2048', after: '1024' });
    expect(change.steps[0]!.description).toContain('shut down VM 120 first');
    expect(renderPlan(p)).toContain('data-loss');
    const mark = fx.reporter.events.length;
    const r = await applyVmRestore(p, { client: fx.client, reporter: fx.reporter, pollMs: 10 });
    expect(r).toMatchObject({ mode: 'overwrite', vmid: 120, stoppedFirst: true, status: 'running' });
    expect(fx.reporter.events.slice(mark).some((e) => e.type === 'log' && e.message.includes('shutting down VM 120 (media) first'))).toBe(true);
    const cfg = await config(120);
    expect(cfg['memory']).toBe('1024');
    expect(pveList(cfg['tags'])).toContain('lab-persona-media');
    expect(cfg['description']).toContain('lab:managed persona=media');
  });

  it('--force over a stopped VM leaves it stopped', async () => {
    await fx.client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', '120', 'status', 'stop'), undefined, { pollMs: 10 });
    const r = await restore({ ...base, force: true });
    expect(r).toMatchObject({ mode: 'overwrite', stoppedFirst: false, status: 'stopped' });
  });

  it('refuses to overwrite a protected VM (Proxmox would) and names both ways out', async () => {
    await fx.makePersonaVm(fx.persona('identity'), { start: false });
    await captureVm(vmCaptureIntent(fx.persona('identity')), ctx);
    const p = await plan({ persona: 'identity', storage: 'local', vmid: 130, force: true });
    expect(p.diagnostics.map((d) => d.code)).toContain('LAB_CAPTURE_RESTORE_PROTECTED');
    expect(p.diagnostics.find((d) => d.code === 'LAB_CAPTURE_RESTORE_PROTECTED')!.hint).toMatch(/--vmid \d+/);
  });

  it('recreates a persona VM that is gone, from its newest archive, with its identity', async () => {
    await fx.client.runTask('DELETE', apiPath('nodes', 'pve1', 'qemu', '120'), { purge: 1 }, { pollMs: 10 });
    const p = await plan(base);
    expect((p.changes[0]!.after as RestoreCall)).toMatchObject({ mode: 'recreate', vmid: 120, start: true, owner: 'media' });
    const r = await restore(base);
    expect(r).toMatchObject({ mode: 'recreate', vmid: 120, status: 'running' });
    expect((await config(120))['description']).toContain('lab:managed persona=media');
  });

  it('refuses a VMID that is taken and an archive that does not exist', async () => {
    const taken = await plan({ ...base, target: 100 });
    expect(taken.diagnostics.map((d) => d.code)).toContain('LAB_CAPTURE_RESTORE_VMID_TAKEN');
    const missing = await plan({ ...base, archive: 'local:backup/vzdump-qemu-120-1999_01_01-00_00_00.vma.zst' });
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['LAB_CAPTURE_RESTORE_NO_ARCHIVE']);
  });
});
