import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryReporter } from '@lab/core';
import { ALREADY_EXISTS, isPveError, pveInt, pveNumber, pveString, PveTaskError, type PveClient, type PveError } from '../src/index.js';
import { makeToken, startTestSim, type TestSim } from './_sim.js';

let t: TestSim;
let admin: PveClient;
beforeAll(async () => {
  t = await startTestSim({ timing: { taskTypeMs: { qmsnapshot: 1_000 } } });
  admin = t.admin();
});
afterAll(() => t.close());

async function failure(p: Promise<unknown>): Promise<PveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPveError(err)) throw new Error(`expected a PveError, got ${String(err)}`);
  return err;
}

/** Calls that reached the fault rule `id`, faulted or not. */
const hits = (id: string): number => t.sim.faults.list().find((f) => f.id === id)?.hits ?? -1;

describe('form encoding and coercion', () => {
  it('keeps ";", "=", "&" and "+" inside values intact', async () => {
    await admin.runTask('POST', '/nodes/pve/qemu', {
      vmid: 150,
      name: 'enc',
      memory: 512,
      scsi0: 'local-lvm:1,discard=on',
      net0: 'virtio,bridge=vmbr0,firewall=1',
      boot: 'order=scsi0;net0',
      tags: 'a;b',
      description: 'x=1&y;z+w',
      onboot: true,
    });
    const cfg = await admin.get<Record<string, unknown>>('/nodes/pve/qemu/150/config');
    expect(cfg['boot']).toBe('order=scsi0;net0');
    expect(cfg['tags']).toBe('a;b');
    expect(cfg['description']).toBe('x=1&y;z+w');
    expect(cfg['scsi0']).toMatch(/^local-lvm:vm-150-disk-0,discard=on,size=1G$/);
    // memory is a string since PVE 8.1, onboot a 0/1 number: read both leniently.
    expect(pveInt(cfg['memory'])).toBe(512);
    expect(pveInt(cfg['onboot'])).toBe(1);
    expect(pveString(await admin.get('/cluster/nextid'))).toMatch(/^\d+$/);
    expect(pveNumber(await admin.get('/cluster/nextid'))).toBeGreaterThanOrEqual(100);
  });

  it('works through proxmox-api typed paths', async () => {
    const nodes = await admin.api.nodes.$get();
    expect(nodes.map((n) => n.node)).toEqual(['pve']);
    const status = await admin.api.nodes.$('pve').qemu.$(150).status.current.$get();
    expect(status.status).toBe('stopped');
  });
});

describe('typed errors', () => {
  it('LAB_PVE_PERMISSION names the missing privilege and path', async () => {
    const secret = await makeToken(admin, 'weak@pve', 'wk');
    const weak = t.token('weak@pve!wk', secret);
    const err = await failure(weak.get('/nodes/pve/status'));
    expect(err.code).toBe('LAB_PVE_PERMISSION');
    expect(err.summary).toBe('weak@pve!wk lacks Sys.Audit on /nodes/pve');
    expect(err.hint).toContain("pveum acl modify /nodes/pve --tokens 'weak@pve!wk'");
    // create_vm raises a bare `Permission check failed` (QS create_vm `raise_perm_exc`).
    const bare = await failure(weak.post('/nodes/pve/qemu', { vmid: 151, memory: 512 }));
    expect(bare.code).toBe('LAB_PVE_PERMISSION');
    expect(bare.summary).toBe('weak@pve!wk is not allowed to POST /nodes/pve/qemu: Permission check failed');
  });

  it('LAB_PVE_NOT_FOUND for a missing VM, LAB_PVE_INVALID with parameter messages, LAB_PVE_CONFLICT', async () => {
    const nf = await failure(admin.get('/nodes/pve/qemu/999/config'));
    expect(nf.code).toBe('LAB_PVE_NOT_FOUND');
    expect(nf.pveMessage).toBe("Configuration file 'nodes/pve/qemu-server/999.conf' does not exist");
    const bad = await failure(admin.post('/nodes/pve/qemu', { vmid: 99 }));
    expect(bad.code).toBe('LAB_PVE_INVALID');
    expect(bad.detail).toContain('vmid: invalid format - value does not look like a valid VM ID');
    const dup = await failure(admin.post('/nodes/pve/qemu', { vmid: 150, memory: 512 }));
    expect(dup.code).toBe('LAB_PVE_CONFLICT');
  });

  it('LAB_PVE_LOCKED for a VM held by a task', async () => {
    await t.sim.faults.holdLock(150, 'backup');
    const err = await failure(admin.put('/nodes/pve/qemu/150/config', { cores: 2 }));
    await t.sim.faults.releaseLock(150);
    expect(err.code).toBe('LAB_PVE_LOCKED');
    expect(err.summary).toContain('locked (backup)');
    expect(err.hint).toContain('qm unlock');
  });
});

describe('retries', () => {
  it('retries a read after 596/599 and succeeds', async () => {
    const id = t.sim.faults.failRequest({ method: 'GET', path: '/cluster/resources', status: 596, message: 'Connection timed out', times: 2 });
    const rows = await admin.get<unknown[]>('/cluster/resources');
    expect(rows.length).toBeGreaterThan(0);
    expect(hits(id)).toBe(3);
  });

  it('resends a write refused with a flock "got timeout" (nothing happened)', async () => {
    t.sim.faults.failRequest({ method: 'PUT', path: '/nodes/pve/qemu/150/config', status: 500, message: "can't lock file '/var/lock/qemu-server/lock-150.conf' - got timeout" });
    await admin.put('/nodes/pve/qemu/150/config', { cores: 3 });
    expect((await admin.get<Record<string, unknown>>('/nodes/pve/qemu/150/config'))['cores']).toBe(3);
  });

  it('never resends a POST blindly after a 596 (it may have acted)', async () => {
    const id = t.sim.faults.failRequest({ method: 'POST', path: '/pools', status: 596, message: 'Broken pipe' });
    const err = await failure(admin.post('/pools', { poolid: 'once' }));
    expect(err.code).toBe('LAB_PVE_UNREACHABLE');
    expect(hits(id)).toBe(1);
  });

  it('mutate() resends a create and recognises "already exists" as done', async () => {
    await admin.runTask('POST', '/nodes/pve/qemu', { vmid: 160, memory: 512 });
    // The first answer is lost (596); the resend meets the VM the first attempt made.
    t.sim.faults.failRequest({ method: 'POST', path: '/nodes/pve/qemu', status: 596, message: 'Broken pipe' });
    const res = await admin.mutate('POST', '/nodes/pve/qemu', { vmid: 160, memory: 512 }, { alreadyDone: ALREADY_EXISTS });
    expect(res.status).toBe('already-done');
    const fresh = await admin.mutate('POST', '/nodes/pve/qemu', { vmid: 161, memory: 512 }, { alreadyDone: ALREADY_EXISTS });
    expect(fresh.status).toBe('done');
    if (fresh.status === 'done') await admin.waitForTask(fresh.value);
  });
});

describe('tasks', () => {
  it('waits for a task with progress events and returns its log', async () => {
    const reporter = createMemoryReporter();
    const upid = await admin.post('/nodes/pve/qemu', { vmid: 170, memory: 512, scsi0: 'local-lvm:2' });
    const res = await admin.waitForTask(upid, { reporter, pollMs: 20, title: 'create vm 170' });
    expect(res.exitstatus).toBe('OK');
    expect(res.upid.type).toBe('qmcreate');
    expect(res.log.at(-1)).toBe('TASK OK');
    const types = reporter.events.map((e) => e.type);
    expect(types[0]).toBe('step.start');
    expect(types).toContain('step.progress');
    expect(types.at(-1)).toBe('step.end');
    expect(reporter.events.find((e) => e.type === 'step.start')).toMatchObject({ title: 'create vm 170' });
  });

  it('throws LAB_PVE_TASK_FAILED with the exit status and a log excerpt', async () => {
    t.sim.faults.failTask({ type: 'qmstart', message: 'start failed: QEMU exited with code 1' });
    const err = await failure(admin.runTask('POST', '/nodes/pve/qemu/170/status/start', {}, { pollMs: 20 }));
    expect(err).toBeInstanceOf(PveTaskError);
    expect(err.code).toBe('LAB_PVE_TASK_FAILED');
    expect((err as PveTaskError).exitstatus).toBe('start failed: QEMU exited with code 1');
    expect(err.detail).toContain('TASK ERROR: start failed: QEMU exited with code 1');
  });

  it('tolerates "no such task" right after dispatch', async () => {
    t.sim.faults.taskStatusDelayMs = 150;
    try {
      const res = await admin.runTask('POST', '/nodes/pve/qemu', { vmid: 171, memory: 512 }, { pollMs: 30 });
      expect(res.exitstatus).toBe('OK');
    } finally {
      t.sim.faults.taskStatusDelayMs = 0;
    }
  });

  it('follows a fast task closely: the first poll comes after 50 ms, never a full second', async () => {
    const sleeps: number[] = [];
    const clock = { now: () => Date.now(), sleep: (ms: number) => (sleeps.push(ms), new Promise<void>((r) => setTimeout(r, ms))) };
    const res = await admin.runTask('POST', '/nodes/pve/qemu', { vmid: 172, memory: 512 }, { clock });
    expect(res.exitstatus).toBe('OK');
    expect(sleeps[0] ?? 0).toBeLessThanOrEqual(50);
    expect(sleeps.every((ms) => ms < 1_000)).toBe(true);
  });

  it('backs off from 50 ms, doubling up to pollMs, while a task runs', async () => {
    const sleeps: number[] = [];
    const clock = { now: () => Date.now(), sleep: (ms: number) => (sleeps.push(ms), new Promise<void>((r) => setTimeout(r, ms))) };
    const upid = await admin.post('/nodes/pve/qemu/150/snapshot', { snapname: 'backoff' });
    expect((await admin.waitForTask(upid, { clock, pollMs: 400 })).exitstatus).toBe('OK');
    expect(sleeps.slice(0, 4)).toEqual([50, 100, 200, 400].slice(0, Math.min(4, sleeps.length)));
    expect(sleeps.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(400);
  });

  it('gives up with LAB_PVE_TASK_SILENT when a task neither logs nor changes, naming the setting', async () => {
    let virtual = 0;
    const clock = { now: () => virtual, sleep: async (ms: number) => void (virtual += ms) };
    const upid = await admin.post('/nodes/pve/qemu/150/snapshot', { snapname: 'quiet' });
    const err = await failure(admin.waitForTask(upid, { clock, silenceMs: 5_000 }));
    expect(err.code).toBe('LAB_PVE_TASK_SILENT');
    expect(err.summary).toMatch(/no sign of life for [56] s/);
    expect(err.hint).toContain('proxmox.taskSilenceTimeout');
    expect((await admin.waitForTask(upid)).exitstatus).toBe('OK');
  });

  it('gives up with LAB_PVE_TIMEOUT when a task runs too long', async () => {
    const upid = await admin.post('/nodes/pve/qemu/150/snapshot', { snapname: 'slow' });
    const err = await failure(admin.waitForTask(upid, { timeoutMs: 100, pollMs: 20 }));
    expect(err.code).toBe('LAB_PVE_TIMEOUT');
    expect(err.hint).toContain('pvenode task log');
    expect((await admin.waitForTask(upid, { pollMs: 50 })).exitstatus).toBe('OK');
  });
});
