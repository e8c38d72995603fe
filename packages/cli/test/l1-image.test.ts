import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSite } from '@lab/intent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { lab, scratchLab } from './_harness.js';
import { qcow2, serveImages, sha512, type ImageServer } from '../../l1-image/test/_fixture.js';
import type { ScratchLab } from '../src/scratch-lab.js';

// `lab plan|apply --layer l1` and `lab image …` through main(), on the embedded simulator.
let s: ScratchLab;
let server: ImageServer;
const image = qcow2('cli');
const v2 = qcow2('cli-2');

beforeAll(async () => {
  server = await serveImages({ '/debian-12.qcow2': image, '/debian-12-v2.qcow2': v2 });
  s = await scratchLab();
  const file = join(s.root, 'lab.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
  // The example lab downloads from cloud.debian.org; the simulator only fetches from loopback.
  doc.setIn(['images', 0, 'versions'], doc.createNode([
    { version: '20250210-2019', url: `${server.url}/debian-12.qcow2`, checksum: { algorithm: 'sha512', value: sha512(image) } },
    { version: '20250301-2050', url: `${server.url}/debian-12-v2.qcow2`, checksum: { algorithm: 'sha512', value: sha512(v2) } },
  ]));
  writeFileSync(file, doc.toString());
  const l0 = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
  expect(l0.code, l0.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  delete process.env['LAB_IMAGE'];
  await server.close();
});

describe('lab … --layer l1 on the embedded simulator', () => {
  it('plan shows the templates, apply builds them and writes manifests, the next plan is empty', async () => {
    process.env['LAB_IMAGE'] = 'debian-12@20250210-2019';
    const plan = await lab('plan', '--layer', 'l1', '--root', s.root, '--json');
    expect(plan.code, plan.stderr).toBe(2);
    const json = JSON.parse(plan.stdout);
    expect(json.changes.map((c: { address: string; action: string }) => `${c.address} ${c.action}`)).toEqual(['_site/l1/image[debian-12@20250210-2019] create']);

    const apply = await lab('apply', '--layer', 'l1', '-y', '--root', s.root);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain('commit them: git add artifacts/images/debian-12/20250210-2019.json');
    const manifest = JSON.parse(readFileSync(join(s.root, 'artifacts/images/debian-12/20250210-2019.json'), 'utf8'));
    expect(manifest.templates.map((t: { node: string; vmid: number }) => `${t.node}:${t.vmid}`)).toEqual(['pve1:9000', 'pve2:9001', 'pve3:9002']);

    const again = await lab('plan', '--layer', 'l1', '--root', s.root);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('image list / promote: the unbuilt version cannot be promoted; the built one becomes stable', async () => {
    delete process.env['LAB_IMAGE'];
    const refused = await lab('image', 'promote', 'debian-12', '20250301-2050', '--channel', 'canary', '--root', s.root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('LAB_L1_IMAGE_NOT_BUILT');

    expect((await lab('apply', '--layer', 'l1', '-y', '--root', s.root)).code).toBe(0);
    const promoted = await lab('image', 'promote', 'debian-12', '20250301-2050', '--root', s.root);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stderr).toContain('20250210-2019 → 20250301-2050');
    expect(existsSync(join(s.root, 'artifacts/images/debian-12/channels.json'))).toBe(true);

    const list = await lab('image', 'list', '--json', '--root', s.root);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { image: string; version: string; channels: string[]; templates: unknown[]; users: unknown[] }[];
    expect(rows.filter((r) => r.image === 'debian-12').map((r) => [r.version, r.channels, r.templates.length, r.users.length])).toEqual([
      ['20250210-2019', [], 3, 0],
      ['20250301-2050', ['stable'], 3, 0],
    ]);
    // The baked image (records-only here: no guests) is listed like any other, at its derived version.
    const baked = (await loadSite(s.root)).site.images.find((i) => i.name === 'debian-12-docker')!.stable;
    expect(rows.filter((r) => r.image === 'debian-12-docker').map((r) => [r.version, r.channels, r.templates.length])).toEqual([[baked, ['stable'], 3]]);
    const manifest = JSON.parse(readFileSync(join(s.root, `artifacts/images/debian-12-docker/${baked}.json`), 'utf8'));
    expect(manifest.bake).toMatchObject({ base: { image: 'debian-12', version: '20250210-2019' }, recordsOnly: true, packages: [] });
    const prune = await lab('image', 'prune', 'debian-12@20250210-2019', '-y', '--root', s.root);
    expect(prune.code).toBe(1);
    expect(prune.stderr).toContain('lab.yaml still lists it');
  }, 120_000);
});
