import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChanges, isLabError } from '@lab/core';
import { apiPath, pveArray, pveRecord, pveString } from '@lab/pve';
import {
  applyImageLayer,
  loadImageCatalog,
  observeSite,
  planImageLayer,
  TEMPLATE_TAG,
  type ImageChangeAfter,
} from '../src/index.js';
import { qcow2, serveImages, sha512, siteYaml, startFixture, type Fixture, type ImageServer } from './_fixture.js';

// observe → plan → apply → re-verify against the simulator, with the faults the layer must survive.
const good = qcow2('2026.11.0');
const bad = qcow2('corrupt');
let server: ImageServer;
let f: Fixture;

const versions = [
  { version: '2026.11.0', path: '/debian-12-2026.11.0.qcow2', sha512: sha512(good) },
  // Served bytes differ from the digest in lab.yaml: Proxmox must discard the download.
  { version: '2026.12.0', path: '/debian-12-2026.12.0.qcow2', sha512: sha512(good) },
];

beforeAll(async () => {
  server = await serveImages({ '/debian-12-2026.11.0.qcow2': good, '/debian-12-2026.12.0.qcow2': bad });
  f = await startFixture(siteYaml(server.url, versions, '2026.11.0'));
});
afterAll(async () => {
  await f.close();
  await server.close();
});

async function config(vmid: number): Promise<Record<string, unknown>> {
  return pveRecord(await f.client.get(apiPath('nodes', 'pve1', 'qemu', String(vmid), 'config'))) as Record<string, unknown>;
}

async function qemuList(): Promise<{ vmid: number; name: string; tags: string }[]> {
  return pveArray(await f.client.get('/nodes/pve1/qemu')).map((r) => {
    const o = pveRecord(r);
    return { vmid: Number(o['vmid']), name: pveString(o['name']) ?? '', tags: pveString(o['tags']) ?? '' };
  });
}

async function importFiles(): Promise<string[]> {
  return pveArray(await f.client.get('/nodes/pve1/storage/local/content', { content: 'import' })).map((r) => pveString(pveRecord(r)['volid']) ?? '');
}

describe('L1 apply against the simulator', () => {
  it('fresh: plans a create, builds the template with the expected config, records the manifest, and the next plan is empty', async () => {
    const opts = f.options({ only: ['debian-12@2026.11.0'] });
    const plan = await planImageLayer(f.client, opts);
    const change = plan.changes.find((c) => c.address === '_site/l1/image[debian-12@2026.11.0]')!;
    expect(change.action).toBe('create');
    expect((change.after as ImageChangeAfter).work).toEqual([{ node: 'pve1', op: 'build', vmid: 9000, importPresent: false, reason: 'no template yet' }]);
    expect(plan.changes).toHaveLength(1);

    const result = await applyImageLayer(f.client, plan, opts);
    expect(result.manifests).toEqual(['artifacts/images/debian-12/2026.11.0.json']);

    const c = await config(9000);
    expect(c['template']).toBe(1);
    expect(c['name']).toBe('tpl-debian-12-2026.11.0');
    expect(String(c['scsi0'])).toMatch(/^local-lvm:base-9000-disk-0,.*size=2G/);
    expect(String(c['ide2'])).toMatch(/^local-lvm:vm-9000-cloudinit,media=cdrom/);
    expect(c['serial0']).toBe('socket');
    expect(c['vga']).toBe('serial0');
    expect(String(c['agent'])).toBe('1');
    expect(c['ciuser']).toBe('debian');
    expect(String(c['tags']).split(/[;, ]/)).toEqual(expect.arrayContaining([TEMPLATE_TAG, 'lab-image-debian-12-2026.11.0']));
    expect(String(c['description'])).toContain('lab-checksum: sha512:');
    expect(await importFiles()).toEqual(['local:import/debian-12-2026.11.0.qcow2']);

    const manifest = JSON.parse(await readFile(path.join(f.root, 'artifacts/images/debian-12/2026.11.0.json'), 'utf8'));
    expect(manifest).toMatchObject({
      formatVersion: 1,
      image: 'debian-12',
      version: '2026.11.0',
      source: { url: `${server.url}/debian-12-2026.11.0.qcow2`, checksum: { algorithm: 'sha512', value: sha512(good) }, format: 'qcow2' },
      tag: 'lab-image-debian-12-2026.11.0',
      templates: [{ node: 'pve1', vmid: 9000, name: 'tpl-debian-12-2026.11.0', storage: 'local-lvm', importVolume: 'local:import/debian-12-2026.11.0.qcow2' }],
      labVersion: '0.0.0-test',
    });
    expect(Date.parse(manifest.templates[0].createdAt)).toBeGreaterThan(Date.parse('2020-01-01'));

    const downloads = server.requests.length;
    const again = await planImageLayer(f.client, opts);
    expect(hasChanges(again)).toBe(false);
    expect(again.changes[0]!.reason).toContain('same URL and checksum');
    expect(server.requests.length).toBe(downloads);
  });

  it('a checksum mismatch fails with a clear error and leaves nothing behind', async () => {
    const opts = f.options({ only: ['debian-12@2026.12.0'] });
    const plan = await planImageLayer(f.client, opts);
    expect(plan.changes[0]!.action).toBe('create');
    const err = await applyImageLayer(f.client, plan, opts).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_L1_CHECKSUM_MISMATCH');
    expect((err as Error).message).toContain('does not match the sha512');
    expect(await importFiles()).toEqual(['local:import/debian-12-2026.11.0.qcow2']);
    expect((await qemuList()).map((v) => v.vmid)).toEqual([9000]);
    // Nothing half-made: the next plan is the same create.
    expect((await planImageLayer(f.client, opts)).changes[0]!.action).toBe('create');
  });

  it('a failed download task is reported and the next apply converges', async () => {
    await f.writeSite(siteYaml(server.url, [versions[0]!, { version: '2027.1.0', path: '/debian-12-2026.11.0.qcow2', sha512: sha512(good) }], '2026.11.0'));
    const opts = f.options({ only: ['debian-12@2027.1.0'] });
    f.sim.faults.failTask({ type: 'download', message: 'download failed: connection reset by peer', times: 1 });
    const err = await applyImageLayer(f.client, await planImageLayer(f.client, opts), opts).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PVE_TASK_FAILED');
    expect((await qemuList()).map((v) => v.vmid)).toEqual([9000]);
    await applyImageLayer(f.client, await planImageLayer(f.client, opts), opts);
    expect((await qemuList()).map((v) => v.vmid)).toEqual([9000, 9001]);
    expect(hasChanges(await planImageLayer(f.client, opts))).toBe(false);
  });

  it('a build interrupted after create converges on re-run without a duplicate template', async () => {
    await f.writeSite(siteYaml(server.url, [versions[0]!, { version: '2027.2.0', path: '/debian-12-2026.11.0.qcow2', sha512: sha512(good) }], '2026.11.0'));
    const opts = f.options({ only: ['debian-12@2027.2.0'] });
    f.sim.faults.failTask({ type: 'qmtemplate', message: 'unable to create template: interrupted', times: 1 });
    const err = await applyImageLayer(f.client, await planImageLayer(f.client, opts), opts).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PVE_TASK_FAILED');
    const half = (await qemuList()).find((v) => v.name === 'tpl-debian-12-2027.2.0')!;
    expect((await config(half.vmid))['template']).toBeUndefined();

    const plan = await planImageLayer(f.client, opts);
    expect((plan.changes[0]!.after as ImageChangeAfter).work).toEqual([{ node: 'pve1', op: 'rebuild', vmid: half.vmid, importPresent: true, reason: 'an earlier build did not finish' }]);
    await applyImageLayer(f.client, plan, opts);
    const same = (await qemuList()).filter((v) => v.name === 'tpl-debian-12-2027.2.0');
    expect(same.map((v) => v.vmid)).toEqual([half.vmid]);
    expect((await config(half.vmid))['template']).toBe(1);
    const catalog = await loadImageCatalog(f.root);
    expect(catalog.manifests.map((m) => m.version).sort()).toEqual(['2026.11.0', '2027.1.0', '2027.2.0']);
  });

  it('a plan made before someone else changed the templates is refused as stale', async () => {
    await f.writeSite(siteYaml(server.url, [versions[0]!, { version: '2027.3.0', path: '/debian-12-2026.11.0.qcow2', sha512: sha512(good) }], '2026.11.0'));
    const opts = f.options({ only: ['debian-12@2027.3.0'] });
    const plan = await planImageLayer(f.client, opts);
    await applyImageLayer(f.client, await planImageLayer(f.client, opts), opts);
    const err = await applyImageLayer(f.client, plan, opts).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PLAN_STALE');
    const obs = await observeSite(f.client, f.site());
    expect(obs.vms.filter((v) => v.template).length).toBe(4);
  });
});
