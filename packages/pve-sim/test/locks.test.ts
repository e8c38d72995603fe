import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

/** Locks held for a task's whole (simulated) duration, as on a real node. */
let t: TestSim;
beforeAll(async () => {
  t = await startTestSim({ timing: { taskTypeMs: { qmclone: 400, vzdump: 400, qmsnapshot: 300 }, flockScale: 0.02 } });
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9000', scsi0: 'local-lvm:2', name: 'tpl' }) }));
  await t.wait(await t.data('POST', '/nodes/pve/qemu/9000/template'));
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '500', scsi0: 'local-lvm:1' }) }));
});
afterAll(async () => {
  await t.close();
});

describe('locks during tasks', () => {
  it('parallel linked clones of a template share its flock; a config change on it times out', async () => {
    const a = await t.data('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=101' });
    const b = await t.data('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=102' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.data('GET', '/nodes/pve/qemu/101/config')).lock).toBe('clone');
    expect((await t.data('GET', '/nodes/pve/qemu/9000/config')).lock).toBeUndefined();
    const put = await t.call('PUT', '/nodes/pve/qemu/9000/config', { body: 'description=busy' });
    expect(put.status).toBe(500);
    expect(put.reason).toBe("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
    expect((await t.wait(a)).exitstatus).toBe('OK');
    expect((await t.wait(b)).exitstatus).toBe('OK');
    expect((await t.data('GET', '/nodes/pve/qemu/101/config')).lock).toBeUndefined();
  });

  it('vzdump holds lock: backup for the duration of the backup', async () => {
    const upid = await t.data('POST', '/nodes/pve/vzdump', { body: 'vmid=500&storage=local' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.data('GET', '/nodes/pve/qemu/500/status/current')).lock).toBe('backup');
    expect((await t.call('PUT', '/nodes/pve/qemu/500/config', { body: 'cores=2' })).reason).toBe('VM is locked (backup)');
    const snap = await t.wait(await t.data('POST', '/nodes/pve/qemu/500/snapshot', { body: 'snapname=during' }));
    expect(snap.exitstatus).toBe('VM is locked (backup)');
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    expect((await t.data('GET', '/nodes/pve/qemu/500/status/current')).lock).toBeUndefined();
  });

  it('snapshot holds lock: snapshot while it runs', async () => {
    const upid = await t.data('POST', '/nodes/pve/qemu/500/snapshot', { body: 'snapname=s1' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.data('GET', '/nodes/pve/qemu/500/config')).lock).toBe('snapshot');
    const list = await t.data('GET', '/nodes/pve/qemu/500/snapshot');
    expect(list.find((s: any) => s.name === 's1').snapstate).toBe('prepare');
    expect((await t.wait(upid)).exitstatus).toBe('OK');
  });
});
