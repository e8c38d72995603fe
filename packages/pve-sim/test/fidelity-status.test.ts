import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

// Fidelity defects of issue #17 item 4, checked against qemu-server's `vmstatus` and
// pve-storage's LvmThinPlugin: what a client reading status and inventory sees.

let t: TestSim;
beforeAll(async () => {
  t = await startTestSim();
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid: 100, name: 'run', scsi0: 'local-lvm:1', ide2: 'local-lvm:cloudinit', net0: 'virtio,bridge=vmbr0', net1: 'virtio,bridge=vmbr0', agent: '1' } }));
  await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'));
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid: 101, name: 'nob', scsi0: 'local-lvm:1', balloon: '0' } }));
  await t.wait(await t.data('POST', '/nodes/pve/qemu/101/status/start'));
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid: 102, name: 'off', scsi0: 'local-lvm:1' } }));
});
afterAll(async () => {
  await t.close();
});

describe('status/current of a running VM', () => {
  it('has nics per tap device, blockstat per drive summing to diskread/diskwrite, ballooninfo and proxmox-support', async () => {
    const s = await t.data('GET', '/nodes/pve/qemu/100/status/current');
    expect(Object.keys(s.nics).sort()).toEqual(['tap100i0', 'tap100i1']);
    expect(s.nics.tap100i0.netin + s.nics.tap100i1.netin).toBe(s.netin);
    expect(s.nics.tap100i0.netout + s.nics.tap100i1.netout).toBe(s.netout);
    expect(Object.keys(s.blockstat).sort()).toEqual(['ide2', 'scsi0']);
    expect(s.blockstat.scsi0).toMatchObject({ rd_bytes: expect.any(Number), wr_bytes: expect.any(Number), timed_stats: [] });
    const sum = (k: string) => Object.values(s.blockstat as Record<string, Record<string, number>>).reduce((a, b) => a + b[k]!, 0);
    expect(sum('rd_bytes')).toBe(s.diskread);
    expect(sum('wr_bytes')).toBe(s.diskwrite);
    expect(s.ballooninfo).toMatchObject({ actual: s.maxmem, max_mem: s.maxmem, total_mem: s.maxmem, free_mem: s.freemem });
    expect(s['proxmox-support']).toMatchObject({ 'pbs-dirty-bitmap': true, 'query-bitmap-info': true });
  });

  it('has no ballooninfo without a balloon device, and none of the QMP extras when stopped', async () => {
    const nob = await t.data('GET', '/nodes/pve/qemu/101/status/current');
    expect(nob.ballooninfo).toBeUndefined();
    expect(nob.blockstat).toBeDefined();
    const off = await t.data('GET', '/nodes/pve/qemu/102/status/current');
    for (const k of ['nics', 'blockstat', 'ballooninfo', 'proxmox-support']) expect(off[k]).toBeUndefined();
  });
});

describe('inventory', () => {
  it('cluster/resources rows of stopped VMs carry diskread/diskwrite 0', async () => {
    const rows = await t.data('GET', '/cluster/resources', { query: 'type=vm' });
    const off = rows.find((r: { vmid: number }) => r.vmid === 102);
    expect(off).toMatchObject({ status: 'stopped', diskread: 0, diskwrite: 0 });
    const on = rows.find((r: { vmid: number }) => r.vmid === 100);
    expect(on.diskread).toEqual(expect.any(Number));
  });

  it('an lvmthin content list never shows parent:, even for a linked clone', async () => {
    await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid: 9000, name: 'tpl', scsi0: 'local-lvm:1' } }));
    await t.wait(await t.data('POST', '/nodes/pve/qemu/9000/template'));
    await t.wait(await t.data('POST', '/nodes/pve/qemu/9000/clone', { body: { newid: 110, full: 0 } }));
    const config = await t.data('GET', '/nodes/pve/qemu/110/config');
    // LVM-thin names a linked clone like any disk; its base shows nowhere in the listing
    expect(config.scsi0).toMatch(/^local-lvm:vm-110-disk-0,/);
    const rows = await t.data('GET', '/nodes/pve/storage/local-lvm/content');
    const clone = rows.find((r: { volid: string }) => r.volid.includes('vm-110-disk-0'));
    expect(clone).toBeDefined();
    expect(rows.filter((r: Record<string, unknown>) => 'parent' in r)).toEqual([]);
  });
});
