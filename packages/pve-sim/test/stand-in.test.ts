import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

// A public URL the simulator must never contact; registered as a stand-in it "downloads" offline.
const URL_ = 'https://cloud.debian.org/images/cloud/bookworm/20250210-2019/debian-12-genericcloud-amd64-20250210-2019.qcow2';
const SHA512 = 'ab'.repeat(64);
let t: TestSim;

beforeAll(async () => {
  t = await startTestSim({ standInImages: [{ url: URL_, checksums: { sha512: SHA512 }, virtualSize: 3 * 1024 ** 3 }] });
});
afterAll(async () => t.close());

const download = (checksum: string, filename = 'debian-12.qcow2') =>
  t.data('POST', '/nodes/pve/storage/local/download-url', {
    body: new URLSearchParams({ url: URL_, content: 'import', filename, checksum, 'checksum-algorithm': 'sha512' }),
  });

describe('stand-in images (pve-api.md §10 fake image registry)', () => {
  it('download-url of a registered URL succeeds offline with the registered checksum', async () => {
    await t.data('PUT', '/storage/local', { body: new URLSearchParams({ content: 'iso,vztmpl,backup,import' }) });
    const st = await t.wait(await download(SHA512));
    expect(st.exitstatus).toBe('OK');
    const [vol] = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=import' });
    expect(vol).toMatchObject({ volid: 'local:import/debian-12.qcow2', format: 'qcow2' });
  });

  it('is idempotent: the stored stand-in answers the checksum check as the real file would', async () => {
    const upid = await download(SHA512);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    const log = await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`);
    expect(log.map((l: { t: string }) => l.t)).toContain('calculating checksum of existing file...OK, got correct file already, no need to download');
  });

  it('a wrong checksum fails the task with PVE wording and stores nothing', async () => {
    const st = await t.wait(await download('cd'.repeat(64), 'other.qcow2'));
    expect(st.exitstatus).toBe(`checksum mismatch: got '${SHA512}' != expect '${'cd'.repeat(64)}'`);
    const content = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=import' });
    expect(content.map((c: { volid: string }) => c.volid)).toEqual(['local:import/debian-12.qcow2']);
  });

  it('the imported disk gets the virtual size the stand-in claims', async () => {
    const vmid = 150;
    const create = await t.data('POST', '/nodes/pve/qemu', {
      body: new URLSearchParams({ vmid: String(vmid), name: 'imp', scsi0: 'local-lvm:0,import-from=local:import/debian-12.qcow2' }),
    });
    expect((await t.wait(create)).exitstatus).toBe('OK');
    const cfg = await t.data('GET', `/nodes/pve/qemu/${vmid}/config`);
    expect(cfg.scsi0).toMatch(/size=3G/);
  });

  it('an unregistered public URL is still refused', async () => {
    const st = await t.wait(
      await t.data('POST', '/nodes/pve/storage/local/download-url', {
        body: new URLSearchParams({ url: 'https://cloud.debian.org/other.qcow2', content: 'import', filename: 'o.qcow2' }),
      }),
    );
    expect(st.exitstatus).toMatch(/only downloads from loopback/);
  });
});
