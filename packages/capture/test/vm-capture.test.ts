import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLabError, renderPlan, summarizePlan } from '@lab/core';
import { apiPath, pveRecord } from '@lab/pve';
import {
  applyVmCapture,
  captureVm,
  listVmBackups,
  observeVmCapture,
  planVmCapture,
  vmCaptureIntent,
  type VmCaptureContext,
  type VmCaptureIntent,
} from '../src/index.js';
import { REVISION, startVmFixture, type VmFixture } from './vm-fixture.js';

const HOUR = 3_600_000;

describe('lab capture vm against the simulator', () => {
  let fx: VmFixture;
  let ctx: VmCaptureContext;
  let media: VmCaptureIntent;
  let vmid: number;
  let node: string;

  beforeAll(async () => {
    fx = await startVmFixture();
    ({ vmid, node } = await fx.makePersonaVm(fx.persona('media'), { persistent: true }));
    media = vmCaptureIntent(fx.persona('media'));
    ctx = { client: fx.client, reporter: fx.reporter, labVersion: '0.1.0', revision: REVISION, pollMs: 10 };
  }, 60_000);
  afterAll(async () => fx?.close());

  const list = () => listVmBackups(fx.client, { storage: 'local', nodes: [node], vmid, persona: 'media' });

  it('backs the persona VM up with its mode, compression and lab notes, and leaves it running', async () => {
    const obs = await observeVmCapture(fx.client, media);
    expect(obs.vm).toMatchObject({ vmid: 120, node: 'pve1', status: 'running' });
    const plan = planVmCapture(media, obs, { labVersion: '0.1.0', revision: REVISION });
    expect(plan.changes.map((c) => `${c.address} ${c.action} ${c.impact}`)).toEqual(['media/capture/vm.backup create none']);
    expect(plan.changes[0]!.after).toMatchObject({ vmid: 120, storage: 'local', mode: 'snapshot', compress: 'zstd', notesTemplate: 'lab:capture persona=media commit=abc1234-dirty lab=0.1.0 vm={{guestname}}' });
    const result = await applyVmCapture(plan, media, ctx);
    expect(result.archive.volid).toMatch(/^local:backup\/vzdump-qemu-120-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.vma\.zst$/);
    expect(result.archive).toMatchObject({ vmid: 120, format: 'vma.zst', protected: false, notes: 'lab:capture persona=media commit=abc1234-dirty lab=0.1.0 vm=media', lab: { persona: 'media', commit: 'abc1234-dirty', labVersion: '0.1.0' } });
    expect(result.archive.size).toBeGreaterThan(0);
    expect(result.deleted).toEqual([]);
    const status = pveRecord(await fx.client.get(apiPath('nodes', node, 'qemu', String(vmid), 'status', 'current')));
    expect(status['status']).toBe('running');
    expect(status['lock']).toBeUndefined();
    // The task was followed with progress from its log.
    const progress = fx.reporter.events.filter((e) => e.type === 'step.progress').map((e) => (e.type === 'step.progress' ? e.message : ''));
    expect(progress.some((m) => m.includes("exclude disk 'scsi1'"))).toBe(true);
    expect(progress.at(-1)).toBe('TASK OK');
  });

  it('keeps the newest `keep` archives lab made, shows the deletion first, and never touches others', async () => {
    // A backup taken by hand (no notes) and a protected one lab made: retention leaves both alone.
    fx.advance(HOUR);
    await fx.client.runTask('POST', apiPath('nodes', node, 'vzdump'), { vmid, storage: 'local', mode: 'snapshot', compress: 'zstd' }, { pollMs: 10 });
    fx.advance(HOUR);
    await fx.client.runTask('POST', apiPath('nodes', node, 'vzdump'), { vmid, storage: 'local', compress: 'zstd', 'notes-template': 'lab:capture persona=media commit=0000000 lab=0.0.9', protected: 1 }, { pollMs: 10 });
    fx.advance(HOUR);
    const second = await captureVm(media, ctx);
    expect(second.result.deleted).toEqual([]);
    fx.advance(HOUR);
    const before = await list();
    const oldest = before.filter((a) => a.lab?.persona === 'media' && !a.protected).at(-1)!;
    const obs = await observeVmCapture(fx.client, media);
    const plan = planVmCapture(media, obs, { labVersion: '0.1.0', revision: REVISION });
    // The forecast names the archive to go, with data-loss, before anything runs.
    expect(plan.changes.filter((c) => c.action === 'delete').map((c) => c.address)).toEqual([`media/capture/vm.backup[${oldest.volid}]`]);
    expect(summarizePlan(plan)).toMatchObject({ create: 1, delete: 1, impacts: { 'data-loss': 1 } });
    expect(renderPlan(plan)).toContain(oldest.volid);
    const mark = fx.reporter.events.length;
    const third = await applyVmCapture(plan, media, ctx);
    expect(third.deleted.map((a) => a.volid)).toEqual([oldest.volid]);
    const events = fx.reporter.events.slice(mark);
    const announced = events.findIndex((e) => e.type === 'log' && e.message.includes('deletes 1') && e.message.includes(oldest.volid));
    const deleting = events.findIndex((e) => e.type === 'step.start' && e.title.startsWith(`delete ${oldest.volid}`));
    expect(announced).toBeGreaterThanOrEqual(0);
    expect(deleting).toBeGreaterThan(announced);
    const after = await list();
    const mine = after.filter((a) => a.lab?.persona === 'media' && !a.protected);
    expect(mine.map((a) => a.volid)).toEqual([third.archive.volid, second.result.archive.volid]);
    expect(after.filter((a) => !a.lab)).toHaveLength(1);
    expect(after.filter((a) => a.protected)).toHaveLength(1);
    expect(after.map((a) => a.volid)).not.toContain(oldest.volid);
    // Newest first, with notes and the protected flag as the storage lists them.
    expect(after.map((a) => a.ctime)).toEqual([...after.map((a) => a.ctime)].sort((a, b) => b - a));
  });

  it('refuses a persona without capture.vm.enabled, with the fix in the hint', () => {
    const edge = fx.persona('edge');
    let caught: unknown;
    try {
      vmCaptureIntent(edge);
    } catch (err) {
      caught = err;
    }
    expect(isLabError(caught) && caught.code).toBe('LAB_CAPTURE_VM_DISABLED');
    expect(isLabError(caught) && caught.hint).toContain('personas/edge/persona.yaml');
  });

  it('plans an error for a storage without backup content and makes nothing', async () => {
    const wrong: VmCaptureIntent = { ...media, storage: 'local-lvm' };
    const obs = await observeVmCapture(fx.client, wrong);
    const plan = planVmCapture(wrong, obs, { labVersion: '0.1.0', revision: REVISION });
    expect(plan.diagnostics.map((d) => `${d.severity} ${d.code}`)).toContain('error LAB_CAPTURE_VM_STORAGE');
    expect(plan.diagnostics.find((d) => d.code === 'LAB_CAPTURE_VM_STORAGE')!.summary).toContain('does not hold backups');
    const count = (await list()).length;
    await expect(applyVmCapture(plan, wrong, ctx)).rejects.toMatchObject({ code: 'LAB_CAPTURE_VM_STORAGE' });
    expect(await list()).toHaveLength(count);
  });

  it('reports a failed vzdump task with its log and leaves the VM unlocked and the archives as they were', async () => {
    fx.advance(HOUR);
    const before = (await list()).map((a) => a.volid);
    fx.sim.faults.failTask({ type: 'vzdump', message: 'job errors' });
    const err = await captureVm(media, ctx).then(() => undefined, (e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PVE_TASK_FAILED');
    expect(isLabError(err) && err.summary).toContain('job errors');
    expect((await list()).map((a) => a.volid)).toEqual(before);
    const cfg = pveRecord(await fx.client.get(apiPath('nodes', node, 'qemu', String(vmid), 'config')));
    expect(cfg['lock']).toBeUndefined();
  });

  it('refuses a VM that looks like the persona but is not lab\'s', async () => {
    await fx.makePersonaVm(fx.persona('monitoring'), { marker: false, start: false });
    const intent: VmCaptureIntent = { persona: 'monitoring', vmid: 110, storage: 'local', mode: 'snapshot', compress: 'zstd', keep: 1, schedule: 'daily' };
    await expect(observeVmCapture(fx.client, intent)).rejects.toMatchObject({ code: 'LAB_CAPTURE_VM_FOREIGN' });
    await expect(observeVmCapture(fx.client, { ...intent, persona: 'tinker', vmid: 777 })).rejects.toMatchObject({ code: 'LAB_CAPTURE_VM_NOT_FOUND' });
  });

  it('backs up a stopped VM in stop mode (impact none) and says so', async () => {
    const id = fx.persona('identity');
    const made = await fx.makePersonaVm(id, { start: false });
    const intent = vmCaptureIntent(id);
    const plan = planVmCapture(intent, await observeVmCapture(fx.client, intent), { labVersion: '0.1.0', revision: REVISION });
    expect(plan.diagnostics.map((d) => d.code)).toContain('LAB_CAPTURE_VM_STOPPED');
    expect(plan.changes[0]!.impact).toBe('none');
    const r = await applyVmCapture(plan, intent, ctx);
    expect(r).toMatchObject({ vmid: made.vmid, node: made.node, archive: { lab: { persona: 'identity' } } });
  });
});
