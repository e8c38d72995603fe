import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

/**
 * Data disks hold real bytes (adr/0175): a sparse raw file per volume, made when a VM boots with
 * it. These checks use the record-only backend and play the guest by writing the file; the
 * Docker test (data-disks-docker.test.ts) shows a real guest writing through a block device.
 */

let t: TestSim;
const HELD = 'vm-999999999-lab-t-data';
const run = async (method: string, p: string, body?: Record<string, string>): Promise<any> => {
  const opts = !body ? {} : method === 'DELETE' ? { query: new URLSearchParams(body).toString() } : { body: new URLSearchParams(body) };
  const status = await t.wait(await t.data(method, p, opts));
  expect(status.exitstatus).toBe('OK');
  return status;
};
const fileOf = (volid: string): string => path.join(t.dir, 'files', 'pve', volid.split(':')[0]!, 'images', volid.split(':')[1]!.replace(/\//g, '__'));
const volOf = (drive: string): string => drive.split(',')[0]!;

async function guestWrites(volid: string, text: string): Promise<void> {
  const h = await open(fileOf(volid), 'r+');
  try {
    await h.write(Buffer.from(text.padEnd(16, '\0')), 0, 16, 0);
  } finally {
    await h.close();
  }
}

async function guestReads(volid: string): Promise<string> {
  const h = await open(fileOf(volid), 'r');
  try {
    const b = Buffer.alloc(16);
    await h.read(b, 0, 16, 0);
    return b.toString('utf8').replace(/\0+$/, '');
  } finally {
    await h.close();
  }
}

const exists = (f: string): Promise<boolean> => stat(f).then(() => true, () => false);

beforeAll(async () => {
  t = await startTestSim();
  await t.data('POST', '/nodes/pve/storage/local-lvm/content', { body: new URLSearchParams({ vmid: '999999999', filename: HELD, size: '1G' }) });
  await run('POST', '/nodes/pve/qemu', { vmid: '301', name: 'holder', scsi0: 'local-lvm:1', scsi1: `local-lvm:${HELD},discard=on`, boot: 'order=scsi0' });
});
afterAll(async () => {
  await t?.close();
});

describe('data disks keep their bytes where PVE keeps them', () => {
  it('a data disk becomes a sparse file of its size when the VM starts; the boot disk does not', async () => {
    expect(await exists(fileOf(`local-lvm:${HELD}`))).toBe(false);
    await run('POST', '/nodes/pve/qemu/301/status/start');
    const st = await stat(fileOf(`local-lvm:${HELD}`));
    expect(st.size).toBe(1024 ** 3);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024);
    expect(await exists(fileOf('local-lvm:vm-301-disk-0'))).toBe(false);
    const spec = t.backend.guests.get(301)!.spec;
    expect(spec.bootDevice).toBe('scsi0');
    expect(spec.disks).toEqual([{ device: 'scsi1', file: fileOf(`local-lvm:${HELD}`), bytes: 1024 ** 3 }]);
    await guestWrites(`local-lvm:${HELD}`, 'hello');
  });

  it('a snapshot includes the data disk; rollback brings its bytes back; delete frees them', async () => {
    await run('POST', '/nodes/pve/qemu/301/snapshot', { snapname: 's1' });
    await guestWrites(`local-lvm:${HELD}`, 'changed');
    await run('POST', '/nodes/pve/qemu/301/snapshot/s1/rollback');
    expect(await guestReads(`local-lvm:${HELD}`)).toBe('hello');
    await run('DELETE', '/nodes/pve/qemu/301/snapshot/s1');
    expect(await exists(`${fileOf(`local-lvm:${HELD}`)}@s1`)).toBe(false);
  });

  it('a full clone copies the data disk into a volume of the new VM', async () => {
    await run('POST', '/nodes/pve/qemu/301/clone', { newid: '303', full: '1', name: 'copy' });
    const conf = await t.data('GET', '/nodes/pve/qemu/303/config');
    expect(volOf(conf.scsi1)).toBe('local-lvm:vm-303-disk-1');
    expect(await guestReads('local-lvm:vm-303-disk-1')).toBe('hello');
    await guestWrites('local-lvm:vm-303-disk-1', 'clone-only');
    expect(await guestReads(`local-lvm:${HELD}`)).toBe('hello');
  });

  it('vzdump carries the data disk and a restore writes it to the restored volume', async () => {
    const status = await run('POST', '/nodes/pve/vzdump', { vmid: '301', storage: 'local', mode: 'snapshot' });
    const log = (await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(status.upid)}/log`, { query: 'limit=0' })).map((l: any) => l.t);
    const archive = (await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=backup' }))[0].volid as string;
    expect(log.join('\n')).toContain(`include disk 'scsi1' 'local-lvm:${HELD}'`);
    await run('POST', '/nodes/pve/qemu', { vmid: '302', archive, storage: 'local-lvm' });
    const conf = await t.data('GET', '/nodes/pve/qemu/302/config');
    expect(await guestReads(volOf(conf.scsi1))).toBe('hello');
    // Deleting the backup frees the bytes kept beside it.
    const backupFile = path.join(t.dir, 'files', 'pve', 'local', 'dump', archive.split('/').pop()!);
    expect(await exists(`${backupFile}.disks/scsi1.raw`)).toBe(true);
    await run('DELETE', `/nodes/pve/storage/local/content/${encodeURIComponent(archive)}`);
    expect(await exists(`${backupFile}.disks`)).toBe(false);
  });

  it('destroying a VM keeps a volume it does not own; re-attached, the new VM sees the same bytes', async () => {
    await run('POST', '/nodes/pve/qemu/301/status/stop');
    await run('DELETE', '/nodes/pve/qemu/301', { purge: '1', 'destroy-unreferenced-disks': '0' });
    expect(await guestReads(`local-lvm:${HELD}`)).toBe('hello');
    await run('POST', '/nodes/pve/qemu', { vmid: '304', name: 'again', scsi0: 'local-lvm:1', scsi1: `local-lvm:${HELD}` });
    await run('POST', '/nodes/pve/qemu/304/status/start');
    expect(t.backend.guests.get(304)!.spec.disks?.[0]?.file).toBe(fileOf(`local-lvm:${HELD}`));
    expect(await guestReads(`local-lvm:${HELD}`)).toBe('hello');
  });

  it("destroying a VM frees the bytes of the volumes it owns; deleting a held volume frees its bytes", async () => {
    await run('DELETE', '/nodes/pve/qemu/303', { purge: '1' });
    expect(await exists(fileOf('local-lvm:vm-303-disk-1'))).toBe(false);
    await run('POST', '/nodes/pve/qemu/304/status/stop');
    await run('DELETE', '/nodes/pve/qemu/304', { purge: '1' });
    expect(await exists(fileOf(`local-lvm:${HELD}`))).toBe(true);
    const upid = await t.data('DELETE', `/nodes/pve/storage/local-lvm/content/local-lvm:${HELD}`);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    expect(await exists(fileOf(`local-lvm:${HELD}`))).toBe(false);
  });
});

describe('the Debian release of a VM follows its boot disk back to the cloud image', () => {
  const URL13 = 'https://cloud.debian.org/images/cloud/trixie/20250924-2245/debian-13-genericcloud-amd64-20250924-2245.qcow2';
  let s: TestSim;
  beforeAll(async () => {
    s = await startTestSim({ standInImages: [{ url: URL13, checksums: { sha512: 'ab'.repeat(64) } }] });
  });
  afterAll(async () => s?.close());

  it('an image downloaded under any name, imported, templated and cloned boots as trixie', async () => {
    const ok = async (upid: string) => expect((await s.wait(upid)).exitstatus).toBe('OK');
    await s.data('PUT', '/storage/local', { body: new URLSearchParams({ content: 'iso,vztmpl,backup,import' }) });
    await ok(await s.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: URL13, content: 'import', filename: 'base.qcow2', checksum: 'ab'.repeat(64), 'checksum-algorithm': 'sha512' }) }));
    await ok(await s.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9013', scsi0: 'local-lvm:0,import-from=local:import/base.qcow2', agent: '1' }) }));
    await ok(await s.data('POST', '/nodes/pve/qemu/9013/template'));
    await ok(await s.data('POST', '/nodes/pve/qemu/9013/clone', { body: new URLSearchParams({ newid: '113', full: '1' }) }));
    await ok(await s.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '112', scsi0: 'local-lvm:1', agent: '1' }) }));
    await ok(await s.data('POST', '/nodes/pve/qemu/113/status/start'));
    await ok(await s.data('POST', '/nodes/pve/qemu/112/status/start'));
    expect(s.backend.guests.get(113)!.spec.release).toBe('trixie');
    expect(s.backend.guests.get(112)!.spec.release).toBeUndefined();
    let info = await s.call('GET', '/nodes/pve/qemu/113/agent/get-osinfo');
    for (let i = 0; info.status !== 200 && i < 120; i++) {
      await new Promise((r) => setTimeout(r, 250));
      info = await s.call('GET', '/nodes/pve/qemu/113/agent/get-osinfo');
    }
    expect(info.json.data.result['version-id']).toBe('13');
  });
});
