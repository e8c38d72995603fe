import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { apiPath } from '@lab/pve';
import {
  applyImageLayer,
  applyPrune,
  listImages,
  loadImageCatalog,
  observeSite,
  planImageLayer,
  planPrune,
  promoteImage,
  resolveImage,
} from '../src/index.js';
import { qcow2, serveImages, sha512, siteYaml, startFixture, type Fixture, type ImageServer } from './_fixture.js';

// Promotion, resolution for L2, list with users, and prune refusing used versions — two nodes.
const a = qcow2('a');
const b = qcow2('b');
let server: ImageServer;
let f: Fixture;
const v1 = { version: '1.0', path: '/a.qcow2', sha512: sha512(a) };
const v2 = { version: '2.0', path: '/b.qcow2', sha512: sha512(b) };
const nodes = ['pve1', 'pve2'];

beforeAll(async () => {
  server = await serveImages({ '/a.qcow2': a, '/b.qcow2': b });
  f = await startFixture(siteYaml(server.url, [v1, v2], '1.0', nodes), nodes);
  await applyImageLayer(f.client, await planImageLayer(f.client, f.options()), f.options());
});
afterAll(async () => {
  await f.close();
  await server.close();
});

describe('image catalogue: promote, resolve, list, prune', () => {
  it('builds one template per node and version with VMIDs from the template range', async () => {
    const catalog = await loadImageCatalog(f.root);
    expect(catalog.manifests.map((m) => [m.version, m.templates.map((t) => `${t.node}:${t.vmid}`)])).toEqual([
      ['1.0', ['pve1:9000', 'pve2:9001']],
      ['2.0', ['pve1:9002', 'pve2:9003']],
    ]);
  });

  it('resolves image@stable from lab.yaml until a promotion moves the pointer in Git', async () => {
    let catalog = await loadImageCatalog(f.root);
    const before = resolveImage(f.site(), catalog, 'debian-12@stable');
    expect(before).toMatchObject({ version: '1.0', channel: 'stable', tag: 'lab-image-debian-12-1.0', nodes: ['pve1', 'pve2'] });
    expect(() => resolveImage(f.site(), catalog, 'debian-12@canary')).toThrow(/points at no version/);

    const r = await promoteImage(f.root, f.site(), catalog, 'debian-12', '2.0', 'stable', new Date('2026-11-20T10:00:00Z'));
    expect(r).toEqual({ file: 'artifacts/images/debian-12/channels.json', channel: 'stable', from: '1.0', to: '2.0', changed: true });
    catalog = await loadImageCatalog(f.root);
    expect(catalog.channels['debian-12']).toEqual({ formatVersion: 1, channels: { stable: { version: '2.0', promotedAt: '2026-11-20T10:00:00.000Z' } } });
    const after = resolveImage(f.site(), catalog, { name: 'debian-12', version: 'stable' });
    expect(after.version).toBe('2.0');
    expect(after.templates.find((t) => t.node === 'pve2')?.vmid).toBe(9003);
    expect(resolveImage(f.site(), catalog, 'debian-12@1.0').templates.map((t) => t.vmid)).toEqual([9000, 9001]);
  });

  it('refuses to promote an unknown or unbuilt version', async () => {
    const catalog = await loadImageCatalog(f.root);
    const unknown = await promoteImage(f.root, f.site(), catalog, 'debian-12', '9.9', 'canary').catch((e: unknown) => e);
    expect(isLabError(unknown) && unknown.code).toBe('LAB_L1_IMAGE_UNKNOWN');
    await f.writeSite(siteYaml(server.url, [v1, v2, { version: '3.0', path: '/a.qcow2', sha512: sha512(a) }], '1.0', nodes));
    const unbuilt = await promoteImage(f.root, f.site(), catalog, 'debian-12', '3.0', 'canary').catch((e: unknown) => e);
    expect(isLabError(unbuilt) && unbuilt.code).toBe('LAB_L1_IMAGE_NOT_BUILT');
    expect(() => resolveImage(f.site(), catalog, 'debian-12@3.0')).toThrow(/has no template yet/);
  });

  it('lists versions with channels, templates and the VMs cloned from them; prune refuses used versions', async () => {
    // What L2 does: a linked clone of the 1.0 template on pve1, tagged with the version's tag.
    await f.client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', '9000', 'clone'), { newid: 120, name: 'media', full: 0 }, { pollMs: 10 });
    await f.client.put(apiPath('nodes', 'pve1', 'qemu', '120', 'config'), { tags: 'lab-image-debian-12-1.0;persona-media' });
    await f.writeSite(siteYaml(server.url, [v2], '2.0', nodes));
    let catalog = await loadImageCatalog(f.root);
    let obs = await observeSite(f.client, f.site());
    const rows = listImages(f.site(), catalog, obs, new Date(Date.now() + 3 * 86_400_000));
    expect(rows.map((r) => ({ v: r.version, declared: r.declared, channels: r.channels, users: r.users.map((u) => u.name), templates: r.templates.length }))).toEqual([
      { v: '1.0', declared: false, channels: [], users: ['media'], templates: 2 },
      { v: '2.0', declared: true, channels: ['stable'], users: [], templates: 2 },
    ]);
    expect(rows[0]!.ageDays).toBe(3);

    let prune = planPrune(f.site(), catalog, obs);
    expect(prune.remove).toEqual([]);
    expect(prune.refused).toEqual([{ image: 'debian-12', version: '1.0', reason: 'used by media (120)' }]);
    // --force: a version VMs were cloned from may go (full clones do not need it).
    expect(planPrune(f.site(), catalog, obs, [], { force: true }).remove.map((r) => r.version)).toEqual(['1.0']);
    expect(planPrune(f.site(), catalog, obs, ['debian-12@2.0']).refused[0]!.reason).toMatch(/channel stable/);

    await f.client.runTask('DELETE', apiPath('nodes', 'pve1', 'qemu', '120'), { purge: 1 }, { pollMs: 10 });
    obs = await observeSite(f.client, f.site());
    prune = planPrune(f.site(), catalog, obs);
    expect(prune.refused).toEqual([]);
    expect(prune.remove).toEqual([
      { image: 'debian-12', version: '1.0', vms: [{ node: 'pve1', vmid: 9000 }, { node: 'pve2', vmid: 9001 }], files: ['pve1/local:import/debian-12-1.0.qcow2', 'pve2/local:import/debian-12-1.0.qcow2'] },
    ]);
    await applyPrune(f.client, f.root, prune, f.reporter, 10);
    catalog = await loadImageCatalog(f.root);
    obs = await observeSite(f.client, f.site());
    expect(catalog.manifests.map((m) => m.version)).toEqual(['2.0']);
    expect(obs.vms.map((v) => v.vmid)).toEqual([9002, 9003]);
    expect(obs.importVolumes).toEqual(['pve1/local:import/debian-12-2.0.qcow2', 'pve2/local:import/debian-12-2.0.qcow2']);
  });
});
