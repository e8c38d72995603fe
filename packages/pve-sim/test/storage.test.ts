import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { rawRequest, startTestSim, type TestSim } from './_helpers.js';
import { fakeQcow2, serveImages, sha256, type ImageServer } from './_image-server.js';

const GiB = 1024 ** 3;
let t: TestSim;
let images: ImageServer;
const qcow = fakeQcow2(2 * GiB);
const iso = Buffer.from('ISO image bytes');

beforeAll(async () => {
  t = await startTestSim();
  images = await serveImages({ '/debian.qcow2': qcow, '/bad.qcow2': fakeQcow2(GiB, true), '/x.iso': iso, '/x.iso.gz': gzipSync(iso) });
});
afterAll(async () => {
  await images.close();
  await t.close();
});

describe('storage inventory', () => {
  it('lists the fresh-install storages with status numbers', async () => {
    const rows = await t.data('GET', '/nodes/pve/storage');
    const local = rows.find((r: any) => r.storage === 'local');
    expect(local).toMatchObject({ type: 'dir', active: 1, enabled: 1, shared: 0, used: 0 });
    expect(local.content.split(',').sort()).toEqual(['backup', 'iso', 'vztmpl']);
    expect(typeof local.total).toBe('number');
    const filtered = await t.data('GET', '/nodes/pve/storage', { query: 'content=images' });
    expect(filtered.map((r: any) => r.storage)).toEqual(['local-lvm']);
    const cfg = await t.data('GET', '/storage');
    expect(cfg.find((r: any) => r.storage === 'local-lvm')).toMatchObject({ type: 'lvmthin', thinpool: 'data', vgname: 'pve', content: 'rootdir,images' });
    const st = await t.call('GET', '/nodes/pve/storage/nope/status');
    expect(st.status).toBe(400);
    expect(st.json.errors).toEqual({ storage: 'No such storage.' });
  });

  it('updates content; unsupported types are dropped', async () => {
    expect(await t.data('PUT', '/storage/local', { body: new URLSearchParams({ content: 'iso,vztmpl,backup,import,snippets' }) })).toEqual({ storage: 'local', type: 'dir' });
    const lvm = await t.call('PUT', '/storage/local-lvm', { body: new URLSearchParams({ content: 'iso' }) });
    expect(lvm.status).toBe(500);
    expect(lvm.reason).toBe("storage does not support content type 'none'");
  });
});

describe('download-url', () => {
  it('validates filenames per content type', async () => {
    const r = await t.call('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: `${images.url}/x.iso`, content: 'iso', filename: 'x.qcow2' }) });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual({ filename: 'wrong file extension' });
    const imp = await t.call('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: `${images.url}/x.iso`, content: 'import', filename: 'x.iso' }) });
    expect(imp.json.errors).toEqual({ filename: 'invalid filename or wrong extension' });
    const lvm = await t.call('POST', '/nodes/pve/storage/local-lvm/download-url', { body: new URLSearchParams({ url: `${images.url}/x.iso`, content: 'iso', filename: 'x.iso' }) });
    expect(lvm.status).toBe(500);
    expect(lvm.reason).toBe("can't upload to storage type 'lvmthin', not a file based storage!");
  });

  it('downloads with a verified checksum and lists the import volume', async () => {
    const upid = await t.data('POST', '/nodes/pve/storage/local/download-url', {
      body: new URLSearchParams({ url: `${images.url}/debian.qcow2`, content: 'import', filename: 'debian 12.qcow2', checksum: sha256(qcow), 'checksum-algorithm': 'sha256' }),
    });
    expect(upid).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:download:debian_12\.qcow2:root@pam!lab-admin:$/);
    const st = await t.wait(upid);
    expect(st.exitstatus).toBe('OK');
    const log = await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`);
    expect(log.map((l: any) => l.t)).toContain('calculating checksum...OK, checksum verified');
    const content = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=import' });
    expect(content).toEqual([{ volid: 'local:import/debian_12.qcow2', content: 'import', format: 'qcow2', size: qcow.length, ctime: expect.any(Number) }]);
  });

  it('is idempotent with a checksum, refuses to overwrite without one', async () => {
    const body = { url: `${images.url}/debian.qcow2`, content: 'import', filename: 'debian_12.qcow2' };
    const same = await t.wait(await t.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ ...body, checksum: sha256(qcow), 'checksum-algorithm': 'sha256' }) }));
    expect(same.exitstatus).toBe('OK');
    const over = await t.wait(await t.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams(body) }));
    expect(over.exitstatus).toBe("refusing to override existing file '/var/lib/vz/import/debian_12.qcow2'");
  });

  it('fails the task on a checksum mismatch and keeps nothing', async () => {
    const st = await t.wait(
      await t.data('POST', '/nodes/pve/storage/local/download-url', {
        body: new URLSearchParams({ url: `${images.url}/x.iso`, content: 'iso', filename: 'mismatch.iso', checksum: 'abc', 'checksum-algorithm': 'sha256' }),
      }),
    );
    expect(st.exitstatus).toBe(`checksum mismatch: got '${sha256(iso)}' != expect 'abc'`);
    const content = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=iso' });
    expect(content).toEqual([]);
  });

  it('refuses images with a backing file and non-loopback hosts', async () => {
    const bad = await t.wait(await t.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: `${images.url}/bad.qcow2`, content: 'import', filename: 'bad.qcow2' }) }));
    expect(bad.exitstatus).toMatch(/^failed to verify file: .*backing file/);
    const remote = await t.wait(await t.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: 'https://deb.debian.org/x.iso', content: 'iso', filename: 'r.iso' }) }));
    expect(remote.exitstatus).toMatch(/only downloads from loopback/);
    expect(images.requests.every((r) => !r.includes('deb.debian.org'))).toBe(true);
  });

  it('decompresses gz for iso and answers query-url-metadata', async () => {
    const st = await t.wait(await t.data('POST', '/nodes/pve/storage/local/download-url', { body: new URLSearchParams({ url: `${images.url}/x.iso.gz`, content: 'iso', filename: 'x.iso', compression: 'gz' }) }));
    expect(st.exitstatus).toBe('OK');
    const [vol] = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=iso' });
    expect(vol).toMatchObject({ volid: 'local:iso/x.iso', size: iso.length, format: 'iso' });
    const meta = await t.data('GET', '/nodes/pve/query-url-metadata', { query: `url=${encodeURIComponent(`${images.url}/debian.qcow2`)}` });
    expect(meta).toEqual({ filename: 'debian.qcow2', size: qcow.length, mimetype: 'application/octet-stream' });
  });

  it('deletes content through a task; volume ids may contain /', async () => {
    const upid = await t.data('DELETE', `/nodes/pve/storage/local/content/${encodeURIComponent('local:iso/x.iso')}`);
    expect(upid).toMatch(/:imgdel:local:root@pam!lab-admin:$/);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    const again = await t.call('DELETE', '/nodes/pve/storage/local/content/local:iso/x.iso', { query: 'delay=5' });
    expect(again.status).toBe(200);
    expect(again.json.data).toMatch(/^UPID:/);
    expect((await t.wait(again.json.data)).exitstatus).toBe("volume 'local:iso/x.iso' does not exist");
  });
});

describe('upload', () => {
  function multipart(fields: Record<string, string>, filename: string, data: Buffer): { body: Buffer; type: string } {
    const boundary = '----labsimboundary7MA4YWxkTrZu0gW';
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="filename"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    parts.push(data, Buffer.from(`\r\n--${boundary}--\r\n`));
    return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
  }

  it('imports a multipart upload through an imgcopy task, checksum verified', async () => {
    const file = Buffer.alloc(600 * 1024, 7);
    const { body, type } = multipart({ content: 'iso', checksum: sha256(file), 'checksum-algorithm': 'sha256' }, 'up load.iso', file);
    const r = await rawRequest(t.sim, 'POST', '/api2/json/nodes/pve/storage/local/upload', { Authorization: t.sim.adminToken.header, 'Content-Type': type, 'Content-Length': String(body.length) }, body);
    expect(r.status).toBe(200);
    expect(r.json.data).toMatch(/:imgcopy::root@pam!lab-admin:$/);
    const st = await t.wait(r.json.data);
    expect(st.exitstatus).toBe('OK');
    const content = await t.data('GET', '/nodes/pve/storage/local/content', { query: 'content=iso' });
    expect(content).toContainEqual(expect.objectContaining({ volid: 'local:iso/up_load.iso', size: file.length }));
    const wrong = multipart({ content: 'iso' }, 'x.qcow2', Buffer.from('x'));
    const bad = await rawRequest(t.sim, 'POST', '/api2/json/nodes/pve/storage/local/upload', { Authorization: t.sim.adminToken.header, 'Content-Type': wrong.type, 'Content-Length': String(wrong.body.length) }, wrong.body);
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual({ filename: 'wrong file extension' });
  });
});
