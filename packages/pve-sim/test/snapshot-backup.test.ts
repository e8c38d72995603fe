import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

let t: TestSim;
const run = async (method: string, path: string, body?: string | URLSearchParams, query?: string): Promise<any> =>
  t.wait(await t.data(method, path, { ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) }));

beforeAll(async () => {
  t = await startTestSim();
  await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '101', name: 'web1', scsi0: 'local-lvm:8', scsi1: 'local-lvm:cloudinit', net0: 'virtio,bridge=vmbr0', cores: '1' }));
  await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '102', name: 'rawdir', scsi0: 'local-lvm:1' }));
});
afterAll(async () => {
  await t.close();
});

describe('snapshots', () => {
  it('refuses reserved names synchronously', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu/101/snapshot', { body: 'snapname=current' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("unable to use snapshot name 'current' (reserved name)");
    const bad = await t.call('POST', '/nodes/pve/qemu/101/snapshot', { body: 'snapname=1x' });
    expect(bad.json.errors).toEqual({ snapname: "invalid format - invalid configuration ID '1x'\n" });
  });

  it('creates snapshots, lists them with current last, tracks parent', async () => {
    expect((await run('POST', '/nodes/pve/qemu/101/snapshot', 'snapname=pre_upgrade&description=before')).exitstatus).toBe('OK');
    await t.data('PUT', '/nodes/pve/qemu/101/config', { body: 'cores=2' });
    expect((await run('POST', '/nodes/pve/qemu/101/snapshot', 'snapname=second')).exitstatus).toBe('OK');
    const list = await t.data('GET', '/nodes/pve/qemu/101/snapshot');
    expect(list[list.length - 1]).toMatchObject({ name: 'current', description: 'You are here!', running: 0, parent: 'second' });
    expect(list.find((s: any) => s.name === 'second')).toMatchObject({ parent: 'pre_upgrade', vmstate: 0, description: '' });
    expect(list.find((s: any) => s.name === 'pre_upgrade')).toMatchObject({ description: 'before', snaptime: expect.any(Number) });
    expect(t.backend.guests.get(101)).toBeUndefined();
    expect((await run('POST', '/nodes/pve/qemu/101/snapshot', 'snapname=second')).exitstatus).toBe("snapshot name 'second' already used");
    expect((await t.data('GET', '/nodes/pve/qemu/101/config', { query: 'snapshot=pre_upgrade' })).cores).toBe(1);
  });

  it('rolls back config and optionally starts', async () => {
    expect((await run('POST', '/nodes/pve/qemu/101/snapshot/pre_upgrade/rollback', 'start=1')).exitstatus).toBe('OK');
    const c = await t.data('GET', '/nodes/pve/qemu/101/config');
    expect(c.cores).toBe(1);
    expect(c.parent).toBe('pre_upgrade');
    expect((await t.data('GET', '/nodes/pve/qemu/101/status/current')).status).toBe('running');
    expect(t.backend.calls).toContain('rollback:101');
    expect((await run('POST', '/nodes/pve/qemu/101/snapshot/nope/rollback')).exitstatus).toBe("snapshot 'nope' does not exist");
  });

  it('deletes a snapshot and re-parents its children', async () => {
    expect((await run('DELETE', '/nodes/pve/qemu/101/snapshot/pre_upgrade')).exitstatus).toBe('OK');
    const list = await t.data('GET', '/nodes/pve/qemu/101/snapshot');
    expect(list.map((s: any) => s.name).sort()).toEqual(['current', 'second']);
    expect(list.find((s: any) => s.name === 'second').parent).toBeUndefined();
    expect(list.find((s: any) => s.name === 'current').parent).toBeUndefined();
  });

  it('raw images on dir storage have no snapshot feature; templates cannot snapshot', async () => {
    await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup,images' });
    await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '103', scsi0: 'local:1' }));
    expect((await t.data('GET', '/nodes/pve/qemu/103/config')).scsi0).toBe('local:103/vm-103-disk-0.raw,size=1G');
    expect((await run('POST', '/nodes/pve/qemu/103/snapshot', 'snapname=s1')).exitstatus).toBe('snapshot feature is not available');
    await run('POST', '/nodes/pve/qemu/102/template');
    expect((await run('POST', '/nodes/pve/qemu/102/snapshot', 'snapname=s1')).exitstatus).toBe("you can't take a snapshot if it's a template");
    const tpl = await t.call('POST', '/nodes/pve/qemu/101/template');
    expect(tpl.reason).toBe('unable to create template, because VM contains snapshots');
  });
});

describe('vzdump and restore', () => {
  let archive = '';
  it('backs up a running VM under lock: backup into a local-time archive name', async () => {
    const upid = await t.data('POST', '/nodes/pve/vzdump', { body: new URLSearchParams({ vmid: '101', storage: 'local', mode: 'snapshot', compress: 'zstd', 'notes-template': '{{guestname}} on {{node}}' }) });
    expect(upid).toMatch(/:vzdump:101:root@pam!lab-admin:$/);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    const log = (await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`, { query: 'limit=0' })).map((l: any) => l.t);
    expect(log[0]).toMatch(/^INFO: starting new backup job: vzdump 101 /);
    expect(log).toContain('INFO: Starting Backup of VM 101 (qemu)');
    expect(log).toContain('INFO: status = running');
    expect(log).toContain('INFO: backup mode: snapshot');
    expect(log.find((l: string) => l.startsWith('INFO: creating vzdump archive'))).toMatch(/'\/var\/lib\/vz\/dump\/vzdump-qemu-101-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.vma\.zst'$/);
    expect(log).toContain('INFO: Backup job finished successfully');
    const backups = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=backup&vmid=101' });
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ content: 'backup', format: 'vma.zst', subtype: 'qemu', vmid: 101, notes: 'web1 on pve' });
    archive = backups[0].volid;
    expect(archive).toMatch(/^local:backup\/vzdump-qemu-101-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.vma\.zst$/);
    const cfg = await t.data('GET', '/nodes/pve/vzdump/extractconfig', { query: `volume=${encodeURIComponent(archive)}` });
    expect(cfg).toContain('name: web1\n');
  });

  it('ends in job errors when a VM is locked', async () => {
    await t.sim.faults.holdLock(101, 'snapshot');
    const st = await run('POST', '/nodes/pve/vzdump', 'vmid=101&storage=local');
    expect(st.exitstatus).toBe('job errors');
    await t.sim.faults.releaseLock(101);
  });

  it('restores into a new VM with unique MACs and a target storage', async () => {
    const src = await t.data('GET', '/nodes/pve/qemu/101/config');
    const upid = await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '201', archive, storage: 'local-lvm', unique: '1' }) });
    expect(upid).toMatch(/:qmrestore:201:/);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    const c = await t.data('GET', '/nodes/pve/qemu/201/config');
    expect(c.name).toBe('web1');
    expect(c.scsi0).toBe('local-lvm:vm-201-disk-0,size=8G');
    expect(c.scsi1).toMatch(/^local-lvm:vm-201-cloudinit,media=cdrom/);
    expect(c.net0).not.toBe(src.net0);
    expect(c.lock).toBeUndefined();
  });

  it('refuses drive options with archive and an existing VM without force', async () => {
    const conflict = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '202', archive, scsi0: 'local-lvm:1' }) });
    expect(conflict.status).toBe(400);
    expect(conflict.json.errors).toEqual({ scsi0: "option conflicts with option 'archive'" });
    const exists = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '201', archive }) });
    expect(exists.reason).toBe("unable to restore VM 201 - VM 201 already exists on node 'pve'");
    const running = await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '101', archive, force: '1' }) }));
    expect(running.exitstatus).toBe('unable to restore VM 101 - vm is running');
    expect((await t.data('GET', '/nodes/pve/qemu/101/config')).lock).toBeUndefined();
  });

  it('restores over a stopped VM with force and converts templates back', async () => {
    await run('POST', '/nodes/pve/qemu/101/status/stop');
    expect((await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '101', archive, force: '1' }))).exitstatus).toBe('OK');
    const list = await t.data('GET', '/nodes/pve/qemu/101/snapshot');
    expect(list.map((s: any) => s.name)).toEqual(['current']);
    await run('POST', '/nodes/pve/vzdump', 'vmid=102&storage=local&compress=gzip');
    const [bk] = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=backup&vmid=102' });
    expect(bk.volid).toMatch(/\.vma\.gz$/);
    const st = await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '302', archive: bk.volid }));
    expect(st.exitstatus).toBe('WARNINGS: 1');
    const c = await t.data('GET', '/nodes/pve/qemu/302/config');
    expect(c.template).toBe(1);
    expect(c.scsi0).toBe('local-lvm:base-302-disk-0,size=1G');
  });
});
