import { afterEach, describe, expect, it } from 'vitest';
import { bakedVersion, loadLab, loadSite, profileHash } from '@lab/intent';
import { labError, lines, makeLab, persona, SITE, VM } from './_lab.js';

const BAKED = `  - name: debian-12-tools
    os: debian
    from: debian-12@stable
    bake:
      include: [_mixins/tools.yaml]
      os:
        packages: [tree]
`;
const MIXIN = `os:
  packages: [htop, jq]
  files:
    - { path: /etc/motd, content: "baked\\n" }
    - { path: /etc/tools.conf, source: files/tools.conf }
vm:
  cores: 2
`;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function lab(files: Record<string, string>): string {
  const l = makeLab({ 'lab.yaml': SITE.replace('repositories:', `${BAKED}repositories:`), 'personas/_mixins/tools.yaml': MIXIN, 'personas/_mixins/files/tools.conf': 'a=1\n', ...files });
  cleanups.push(l.cleanup);
  return l.root;
}

describe('bake profiles in lab.yaml', () => {
  it('composes the mixins, names the version <base version>-<hash8> and makes it stable', async () => {
    const { site } = await loadSite(lab({}));
    const im = site.images.find((i) => i.name === 'debian-12-tools')!;
    expect(im.baked).toMatchObject({ base: { image: 'debian-12', version: '1' }, files: ['personas/_mixins/tools.yaml'], network: { bridge: 'vmbr0', vlan: 10, address: '10.0.10.253/24', gateway: '10.0.10.1' } });
    expect(im.baked!.os.packages.map((p) => p.name)).toEqual(['htop', 'jq', 'tree']);
    expect(im.stable).toBe(bakedVersion('1', im.baked!.hash));
    expect(im.versions).toEqual([{ version: im.stable, url: 'bake:debian-12@1', checksum: { algorithm: 'sha256', value: im.baked!.hash } }]);
    expect(im.storage).toBe('local');
  });

  it('changes the hash (and so the version) with the mixin, a source file or the base, and only then', async () => {
    const version = async (files: Record<string, string>) => (await loadSite(lab(files))).site.images[1]!.stable;
    const same = await version({});
    expect(await version({})).toBe(same);
    // vm: of a mixin is not baked.
    expect(await version({ 'personas/_mixins/tools.yaml': MIXIN.replace('cores: 2', 'cores: 4') })).toBe(same);
    expect(await version({ 'personas/_mixins/tools.yaml': MIXIN.replace('[htop, jq]', '[htop, jq, git]') })).not.toBe(same);
    expect(await version({ 'personas/_mixins/files/tools.conf': 'a=2\n' })).not.toBe(same);
  });

  it('hashes canonically', () => {
    const os = { packages: [{ name: 'a', state: 'present' }], timezone: 'Etc/UTC' } as never;
    expect(profileHash(os, { f: 'x' })).toBe(profileHash({ timezone: 'Etc/UTC', packages: [{ state: 'present', name: 'a' }] } as never, { f: 'x' }));
    expect(profileHash(os, { f: 'x' })).not.toBe(profileHash(os, { f: 'y' }));
    expect(bakedVersion('20250210-2019', 'abcdef0123456789')).toBe('20250210-2019-abcdef01');
  });

  it('lets personas use the baked image at its derived version', async () => {
    const root = lab({ 'personas/a/persona.yaml': persona('a', VM.replace('debian-12@stable', 'debian-12-tools@stable')) });
    const l = await loadLab(root);
    expect(l.personas[0]!.persona.vm.image.name).toBe('debian-12-tools');
  });

  it('points at the field that is wrong, in lab.yaml or in the mixin', async () => {
    const bad = SITE.replace('repositories:', `${BAKED.replace('debian-12@stable', 'debian-13@stable')}  - name: half\n    os: debian\n    bake: {}\nrepositories:`);
    const e1 = await labError(() => loadSite(lab({ 'lab.yaml': bad })));
    expect(lines(e1).map((l) => l.split('\n')[0])).toEqual([
      'lab.yaml:26:11 images[1].from: no image "debian-13" in the catalogue',
      'lab.yaml:33:11 images[2].bake: a baked image needs the base it is built from',
    ]);
    const e0 = await labError(() => loadSite(lab({ 'lab.yaml': SITE.replace('repositories:', `${BAKED.replace('[tree]', '[{ nme: tree }]')}repositories:`) })));
    expect(lines(e0)[0]).toMatch(/^lab\.yaml:30:\d+ images\[1\]\.bake\.os\.packages\[0\]/);
    const e2 = await labError(() => loadSite(lab({ 'personas/_mixins/tools.yaml': MIXIN.replace('[htop, jq]', '[htop, 7]').replace('files/tools.conf', 'files/missing.conf') })));
    expect(lines(e2).map((l) => l.split('\n')[0])).toEqual([expect.stringMatching(/^personas\/_mixins\/tools\.yaml:2:\d+ os\.packages\[1\]: /)]);
    const e3 = await labError(() => loadSite(lab({ 'personas/_mixins/tools.yaml': MIXIN.replace('files/tools.conf', 'files/missing.conf') })));
    expect(lines(e3)).toEqual([expect.stringMatching(/^personas\/_mixins\/tools\.yaml:5:\d+ os\.files\[1\]\.source: source file personas\/_mixins\/files\/missing\.conf does not exist/)]);
  });

  it('refuses a persona address the bake VM would take', async () => {
    const root = lab({ 'personas/a/persona.yaml': persona('a', VM.replace('{ bridge: vmbr0 }', '{ bridge: vmbr0, vlan: 10, ip: 10.0.10.253/24 }')) });
    const e = await labError(() => loadLab(root));
    expect(lines(e)[0]).toMatch(/vm\.nics\[0\]\.ip: address 10\.0\.10\.253 is the scratch address image debian-12-tools is baked at/);
  });
});
