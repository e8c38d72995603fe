import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

let t: TestSim;
beforeAll(async () => {
  t = await startTestSim({ nodes: 3 });
  await t.wait(await t.data('POST', '/nodes/pve2/qemu', { body: new URLSearchParams({ vmid: '100', name: 'on-two', scsi0: 'local-lvm:4', memory: '1024', tags: 'b;A' }) }));
});
afterAll(async () => {
  await t.close();
});

describe('nodes and cluster', () => {
  it('lists three online nodes with stats and fingerprints', async () => {
    const nodes = await t.data('GET', '/nodes');
    expect(nodes.map((n: any) => n.node)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(nodes[0]).toMatchObject({ status: 'online', type: 'node', id: 'node/pve1', maxcpu: 16, level: '', ssl_fingerprint: t.sim.fingerprint });
    expect(t.sim.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const status = await t.data('GET', '/cluster/status');
    expect(status[0]).toMatchObject({ type: 'cluster', nodes: 3, quorate: 1 });
  });

  it('serves a VM on its own node only', async () => {
    expect((await t.data('GET', '/nodes/pve2/qemu/100/config')).name).toBe('on-two');
    expect((await t.call('GET', '/nodes/pve1/qemu/100/config')).reason).toBe("Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist");
    expect(await t.data('GET', '/nodes/pve1/qemu')).toEqual([]);
    const list = await t.data('GET', '/nodes/pve2/qemu');
    expect(list).toEqual([expect.objectContaining({ vmid: 100, name: 'on-two', status: 'stopped', maxmem: 1024 * 1024 ** 2, tags: 'b;A' })]);
    expect(list[0].qmpstatus).toBeUndefined();
  });

  it('cluster/resources has numeric VM rows, storage per node, and filters', async () => {
    const vms = await t.data('GET', '/cluster/resources', { query: 'type=vm' });
    expect(vms).toEqual([expect.objectContaining({ id: 'qemu/100', type: 'qemu', vmid: 100, node: 'pve2', status: 'stopped', name: 'on-two', template: 0, maxmem: 1073741824, tags: 'b;A' })]);
    const storage = await t.data('GET', '/cluster/resources', { query: 'type=storage' });
    expect(storage.filter((s: any) => s.storage === 'local').map((s: any) => s.id)).toEqual(['storage/pve1/local', 'storage/pve2/local', 'storage/pve3/local']);
    expect(await t.data('GET', '/cluster/nextid')).toBe('101');
  });

  it('shows stale status inside the pvestatd window', async () => {
    t.sim.faults.setResourcesLag(60_000);
    await t.wait(await t.data('POST', '/nodes/pve2/qemu/100/status/start'));
    const [row] = await t.data('GET', '/cluster/resources', { query: 'type=vm' });
    expect(row.status).toBe('unknown');
    expect(row.name).toBeUndefined();
    expect(row.tags).toBe('b;A');
    expect((await t.data('GET', '/nodes/pve2/qemu/100/status/current')).status).toBe('running');
    t.sim.faults.setResourcesLag(0);
    expect((await t.data('GET', '/cluster/resources', { query: 'type=vm' }))[0].status).toBe('running');
  });

  it('a node marked down answers 595 and shows offline', async () => {
    await t.sim.faults.setNodeDown('pve3', true);
    const r = await t.call('GET', '/nodes/pve3/status');
    expect(r.status).toBe(595);
    expect(r.reason).toBe('Errors during connection establishment, proxy handshake: No route to host');
    expect(r.headers['content-type']).toBeUndefined();
    expect((await t.data('GET', '/nodes')).find((n: any) => n.node === 'pve3')).toEqual(expect.objectContaining({ status: 'offline' }));
    await t.sim.faults.setNodeDown('pve3', false);
    expect((await t.call('GET', '/nodes/pve3/status')).status).toBe(200);
  });
});

describe('network', () => {
  it('lists a VLAN-aware vmbr0 and stages new bridges until applied', async () => {
    const bridges = await t.data('GET', '/nodes/pve1/network', { query: 'type=any_bridge' });
    expect(bridges).toEqual([expect.objectContaining({ iface: 'vmbr0', type: 'bridge', active: 1, bridge_vlan_aware: 1, bridge_ports: 'eno1', cidr: '192.168.100.10/24' })]);
    await t.data('POST', '/nodes/pve1/network', { body: new URLSearchParams({ iface: 'vmbr1', type: 'bridge', autostart: '1', bridge_vlan_aware: '1' }) });
    const staged = await t.call('GET', '/nodes/pve1/network');
    expect(staged.json.changes).toContain('+iface vmbr1 inet manual');
    expect(staged.json.data.find((i: any) => i.iface === 'vmbr1').active).toBeUndefined();
    await t.wait(await t.data('POST', '/nodes/pve1/qemu', { body: new URLSearchParams({ vmid: '110', net0: 'virtio,bridge=vmbr1' }) }));
    expect((await t.wait(await t.data('POST', '/nodes/pve1/qemu/110/status/start'))).exitstatus).toBe("bridge 'vmbr1' does not exist");
    const applied = await t.wait(await t.data('PUT', '/nodes/pve1/network'));
    expect(applied.type).toBe('srvreload');
    expect((await t.wait(await t.data('POST', '/nodes/pve1/qemu/110/status/start'))).exitstatus).toBe('OK');
    expect((await t.call('GET', '/nodes/pve1/network')).json.changes).toBeUndefined();
  });
});

describe('pools', () => {
  it('creates, lists members, and refuses to delete a non-empty pool', async () => {
    await t.data('POST', '/pools', { body: 'poolid=ci&comment=CI' });
    await t.data('PUT', '/pools', { body: 'poolid=ci&vms=100&storage=local' });
    const [pool] = await t.data('GET', '/pools', { query: 'poolid=ci' });
    expect(pool.poolid).toBe('ci');
    expect(pool.members.map((m: any) => m.id)).toEqual(['qemu/100', 'storage/pve1/local']);
    expect((await t.data('GET', '/cluster/resources', { query: 'type=vm' })).find((r: any) => r.vmid === 100).pool).toBe('ci');
    const del = await t.call('DELETE', '/pools', { query: 'poolid=ci' });
    expect(del.reason).toBe("delete pool failed: pool 'ci' is not empty (contains VM 100)");
    const unknown = await t.call('GET', '/pools', { query: 'poolid=nope' });
    expect(unknown.reason).toBe("pool 'nope' does not exist");
    const clone = await t.call('POST', '/nodes/pve2/qemu/100/clone', { body: 'newid=150&pool=ghost', auth: 'admin' });
    expect(clone.status).toBe(403);
    expect(clone.reason).toBe("Permission check failed (pool 'ghost' does not exist)");
  });
});

describe('tasks', () => {
  it('lists finished tasks by default, running ones with source=active, with total', async () => {
    // long enough that the second create is still running when listed, even on a loaded machine
    const slow = await startTestSim({ timing: { taskTypeMs: { qmcreate: 3_000 } } });
    try {
      const done = await slow.wait(await slow.data('POST', '/nodes/pve/qemu', { body: 'vmid=100' }));
      expect(done.exitstatus).toBe('OK');
      const upid = await slow.data('POST', '/nodes/pve/qemu', { body: 'vmid=101' });
      const archive = await slow.call('GET', '/nodes/pve/tasks');
      expect(archive.json.total).toBe(1);
      expect(archive.json.data[0]).toMatchObject({ type: 'qmcreate', id: '100', user: 'root@pam', tokenid: 'lab-admin', status: 'OK', endtime: expect.any(Number) });
      const active = await slow.data('GET', '/nodes/pve/tasks', { query: 'source=active' });
      expect(active).toEqual([expect.objectContaining({ upid, status: 'RUNNING' })]);
      const running = await slow.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`);
      expect(running.status).toBe('running');
      expect(running.exitstatus).toBeUndefined();
      await slow.wait(upid);
      expect(await slow.data('GET', '/nodes/pve/tasks', { query: 'typefilter=qmstart' })).toEqual([]);
      expect(await slow.data('GET', '/nodes/pve/tasks', { query: 'vmid=101' })).toHaveLength(1);
      // Newest first, also within one second (PVE reads its task index backwards).
      expect((await slow.data('GET', '/nodes/pve/tasks')).map((x: { id: string }) => x.id)).toEqual(['101', '100']);
    } finally {
      await slow.close();
    }
  });

  it('pages logs 1-based and says no content for empty logs', async () => {
    const upid = await t.data('POST', '/nodes/pve1/vzdump', { body: 'vmid=110&storage=local' });
    await t.wait(upid);
    const page = await t.call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { query: 'start=2&limit=2' });
    expect(page.json.data.map((l: any) => l.n)).toEqual([3, 4]);
    expect(page.json.total).toBeGreaterThan(4);
  });

  it('400s for unparsable and unknown UPIDs', async () => {
    const bad = await t.call('GET', '/nodes/pve1/tasks/nonsense/status');
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual({ upid: 'unable to parse worker upid' });
    const unknown = await t.call('GET', `/nodes/pve1/tasks/${encodeURIComponent('UPID:pve1:00001234:00001234:66A1B2C3:qmstart:100:root@pam:')}/status`);
    expect(unknown.json.errors).toEqual({ upid: 'no such task' });
  });

  it('other users see only their own tasks without Sys.Audit', async () => {
    await t.data('POST', '/access/users', { body: 'userid=dev@pve' });
    const tok = await t.data('POST', '/access/users/dev@pve/token/tk', { body: 'privsep=0' });
    const list = await t.data('GET', '/nodes/pve1/tasks', { auth: { token: `PVEAPIToken=dev@pve!tk=${tok.value}` } });
    expect(list).toEqual([]);
    const [mine] = await t.data('GET', '/nodes/pve1/tasks', { query: 'limit=1' });
    const r = await t.call('GET', `/nodes/pve1/tasks/${encodeURIComponent(mine.upid)}/status`, { auth: { token: `PVEAPIToken=dev@pve!tk=${tok.value}` } });
    expect(r.status).toBe(403);
    expect(r.reason).toBe('Permission check failed (/nodes/pve1, Sys.Audit)');
  });
});
