import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

// Restore over an existing VM as qemu-server does it (`$restore_cleanup_oldconf`,
// `restore_update_config_line`, `rescan`): only the volumes of the drives the archive restores
// are freed, the VM's other volumes come back as unusedN, and a drive vzdump left out
// (`backup=0`) reappears as a comment line, that is, in the description.
let t: TestSim;
const run = async (method: string, path: string, body?: URLSearchParams): Promise<any> => t.wait(await t.data(method, path, body ? { body } : {}));

beforeAll(async () => {
  t = await startTestSim();
  await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup' });
  await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '110', name: 'db', description: 'the database', scsi0: 'local-lvm:4', scsi1: 'local-lvm:2,backup=0', ide2: 'local-lvm:cloudinit', net0: 'virtio,bridge=vmbr0' }));
  await t.data('POST', '/nodes/pve/storage/local-lvm/content', { body: new URLSearchParams({ vmid: '999999999', filename: 'vm-999999999-lab-db-data', size: '1G' }) });
  await t.data('PUT', '/nodes/pve/qemu/110/config', { body: new URLSearchParams({ scsi2: 'local-lvm:vm-999999999-lab-db-data,backup=0' }) });
});
afterAll(async () => t?.close());

describe('restore over an existing VM', () => {
  it('frees only the restored disks, keeps the others as unused, and comments out the excluded drives', async () => {
    const before = await t.data('GET', '/nodes/pve/qemu/110/config');
    expect((await run('POST', '/nodes/pve/vzdump', new URLSearchParams({ vmid: '110', storage: 'local' }))).exitstatus).toBe('OK');
    const [bk] = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=backup&vmid=110' });
    const archived = await t.data('GET', '/nodes/pve/vzdump/extractconfig', { query: `volume=${encodeURIComponent(bk.volid)}` });
    expect(archived).toContain('scsi1: local-lvm:vm-110-disk-1,backup=0');

    expect((await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '110', archive: bk.volid, force: '1' }))).exitstatus).toBe('OK');
    const c = await t.data('GET', '/nodes/pve/qemu/110/config');
    expect(c.scsi0).toMatch(/^local-lvm:vm-110-disk-\d+,size=4G$/);
    expect(c.scsi1).toBeUndefined();
    expect(c.scsi2).toBeUndefined();
    // The excluded data disk's own volume survives, as an unused disk of the VM.
    expect(c.unused0).toBe('local-lvm:vm-110-disk-1');
    expect(c.description).toBe(`the database\nscsi1: ${before.scsi1}\nscsi2: ${before.scsi2}`);
    // The cloud-init drive was not in the archive: its volume is kept and still attached.
    expect(c.ide2).toBe(before.ide2);
    const volumes = (await t.data('GET', '/nodes/pve/storage/local-lvm/content')).map((v: any) => v.volid);
    expect(volumes).toEqual(expect.arrayContaining(['local-lvm:vm-110-disk-1', 'local-lvm:vm-110-cloudinit', 'local-lvm:vm-999999999-lab-db-data']));
    expect(volumes.filter((v: string) => v.startsWith('local-lvm:vm-110-disk-'))).toHaveLength(2);
  });

  it('a restore into a new VMID carries the excluded drives as comments and allocates its own cloud-init drive', async () => {
    const [bk] = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=backup&vmid=110' });
    expect((await run('POST', '/nodes/pve/qemu', new URLSearchParams({ vmid: '111', archive: bk.volid, unique: '1' }))).exitstatus).toBe('OK');
    const c = await t.data('GET', '/nodes/pve/qemu/111/config');
    expect(c.ide2).toMatch(/^local-lvm:vm-111-cloudinit,media=cdrom/);
    expect(c.description).toMatch(/^the database\nscsi1: local-lvm:vm-110-disk-1,backup=0/);
    expect(Object.keys(c).filter((k) => /^unused\d+$/.test(k))).toEqual([]);
  });
});
