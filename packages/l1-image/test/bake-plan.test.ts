import { describe, expect, it } from 'vitest';
import { bakedVersion, type BakedImage, type Site } from '@lab/intent';
import { siteSchema } from '../../intent/src/schema/site.js';
import { checksumText, desiredTemplates, EMPTY_CATALOG, planImages, templateName, type ImageCatalog, type ImageChangeAfter, type ImageManifest, type ImageObservation, type ObservedVm } from './_pure.js';

// Baked versions plan like any other: pure, lab.yaml (resolved profiles) + observation in, plan out.
const SHA = 'ab'.repeat(64);
const HASH = '1f'.repeat(32);
const VERSION = bakedVersion('1', HASH);

function site(hash = HASH, baseVersion = '1'): Site {
  const raw = siteSchema().parse({
    name: 'homelab',
    proxmox: { mode: 'embedded', nodes: 1, guests: 'docker' },
    nodes: [{ name: 'pve1', cores: 4, memory: '8GiB' }],
    storages: [
      { name: 'local', type: 'dir', path: '/var/lib/vz', content: ['import', 'snippets'] },
      { name: 'local-lvm', type: 'lvmthin', content: ['images'] },
    ],
    bridges: [{ name: 'vmbr0', cidr: '10.0.0.0/24' }],
    secrets: { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] },
    images: [
      { name: 'debian-12', os: 'debian', stable: '1', versions: ['1', '2'].map((v) => ({ version: v, url: `https://example.org/${v}.qcow2`, checksum: { algorithm: 'sha512', value: SHA } })), storage: 'local' },
      { name: 'debian-12-tools', os: 'debian', from: `debian-12@${baseVersion}`, bake: { include: [] } },
    ],
  });
  const version = bakedVersion(baseVersion, hash);
  const baked: BakedImage = {
    base: { image: 'debian-12', version: baseVersion },
    hash,
    os: { packages: [{ name: 'tree', state: 'present' }], files: [], systemd: { services: [] }, users: [] } as never,
    files: ['personas/_mixins/tools.yaml'],
    network: { bridge: 'vmbr0', address: '10.0.0.253/24', gateway: '10.0.0.1', addresses: { pve1: '10.0.0.253/24' } },
  };
  const [plain, tools] = raw.images;
  return {
    ...raw,
    // Baked first in lab.yaml on purpose: L1 still builds the base first.
    images: [
      { ...tools!, stable: version, storage: 'local', versions: [{ version, url: `bake:debian-12@${baseVersion}`, checksum: { algorithm: 'sha256', value: hash } }], baked },
      { ...plain!, stable: '1', storage: 'local' },
    ],
  } as Site;
}

function obs(vms: ObservedVm[] = []): ImageObservation {
  return { nodes: ['pve1'], vms, usedVmids: vms.map((v) => v.vmid), importVolumes: [], importDiskImages: true };
}

function built(s: Site, image: string, version: string, vmid: number, over: Partial<ObservedVm> = {}): ObservedVm {
  const d = desiredTemplates(s).templates.find((t) => t.image === image && t.version === version)!;
  return {
    node: 'pve1',
    vmid,
    name: templateName(image, version),
    tags: [d.tag, 'lab-template'],
    template: true,
    status: 'stopped',
    provenance: { image, version, url: d.url, checksum: checksumText(d), build: d.build },
    config: { scsi0: `local-lvm:base-${vmid}-disk-0,size=2G`, ide2: `local-lvm:vm-${vmid}-cloudinit,media=cdrom`, serial0: 'socket', agent: '1' },
    ...over,
  };
}

function manifest(version: string, base: string, hash: string, vmid = 9005): ImageManifest {
  return {
    formatVersion: 1,
    image: 'debian-12-tools',
    version,
    os: 'debian',
    source: { url: `bake:debian-12@${base}`, checksum: { algorithm: 'sha256', value: hash }, format: 'qcow2' },
    tag: `lab-image-debian-12-tools-${version}`,
    serialConsole: true,
    guestAgent: true,
    cloudInit: { user: 'debian', packages: [] },
    templates: [{ node: 'pve1', vmid, name: templateName('debian-12-tools', version), storage: 'local-lvm', importVolume: '', createdAt: '2026-01-01T00:00:00.000Z' }],
    labVersion: 't',
    bake: { base: { image: 'debian-12', version: base }, profileHash: hash, mixins: [], packages: ['tree 2.1.0-1'], converge: { changed: 3, unchanged: 0 } },
  };
}

const plan = (s: Site, o: ImageObservation, catalog: ImageCatalog = EMPTY_CATALOG, only?: string[]) =>
  planImages(desiredTemplates(s, only ? { only } : {}).templates, o, catalog, { labVersion: 't', createdAt: new Date(0) });
const change = (p: ReturnType<typeof plan>, image: string) => p.changes.find((c) => (c.after as ImageChangeAfter).image === image)!;

describe('baked versions in the L1 plan', () => {
  it('builds the base before the bake, and a selection of the bake brings its base', () => {
    const s = site();
    expect(desiredTemplates(s).templates.map((t) => `${t.image}@${t.version}`)).toEqual(['debian-12@1', 'debian-12@2', `debian-12-tools@${VERSION}`]);
    expect(desiredTemplates(s, { only: ['debian-12-tools'] }).templates.map((t) => `${t.image}@${t.version}`)).toEqual(['debian-12@1', `debian-12-tools@${VERSION}`]);
    const p = plan(s, obs());
    expect(p.changes.map((c) => c.address)).toEqual(['_site/l1/image[debian-12@1]', '_site/l1/image[debian-12@2]', `_site/l1/image[debian-12-tools@${VERSION}]`]);
  });

  it('shows the bake as a change with its steps and why: a first bake', () => {
    const c = change(plan(site(), obs([built(site(), 'debian-12', '1', 9000)]), EMPTY_CATALOG, ['debian-12-tools']), 'debian-12-tools');
    expect(c).toMatchObject({ action: 'create', impact: 'none', after: { bake: { base: { image: 'debian-12', version: '1' }, profileHash: HASH } } });
    expect(c.diff).toEqual([{ path: 'base', after: 'debian-12@1' }, { path: 'profile', after: HASH.slice(0, 12), note: 'first bake of this image' }, { path: 'templates.pve1', after: 9001 }]);
    expect(c.steps.map((st) => st.description)).toEqual([
      "full clone of debian-12@1's template on pve1 to VM 9001 " + templateName('debian-12-tools', VERSION) + ' on local-lvm',
      "boot it once at 10.0.0.253/24 on vmbr0 (pinned host key, lab's SSH key)",
      'converge the profile with L3 over SSH (1 package(s), 0 file(s), 0 service(s), 0 user(s); mixins _mixins/tools.yaml), then re-verify',
      'record dpkg-query -W; clean for templating: cloud-init, machine-id, SSH host keys, logs, apt lists',
      'shut it down, drop its boot settings, convert VM 9001 to a template',
      `write artifacts/images/debian-12-tools/${VERSION}.json`,
    ]);
    // No download: a bake needs no disk import.
    expect(plan(site(), { ...obs([built(site(), 'debian-12', '1', 9000), built(site(), 'debian-12', '2', 9002)]), importDiskImages: false }).diagnostics).toEqual([]);
  });

  it('says whether the profile or the base moved since the last bake', () => {
    const old = bakedVersion('1', 'ee'.repeat(32));
    const byProfile = change(plan(site(), obs(), { manifests: [manifest(old, '1', 'ee'.repeat(32))], channels: {} }), 'debian-12-tools');
    expect(byProfile.diff.slice(0, 2)).toEqual([{ path: 'base', after: 'debian-12@1' }, { path: 'profile', before: 'ee'.repeat(6), after: HASH.slice(0, 12), note: `new profile hash (was debian-12-tools@${old})` }]);
    const s2 = site(HASH, '2');
    const byBase = change(plan(s2, obs(), { manifests: [manifest(VERSION, '1', HASH)], channels: {} }), 'debian-12-tools');
    expect((byBase.after as ImageChangeAfter).version).toBe(bakedVersion('2', HASH));
    expect(byBase.diff.slice(0, 1)).toEqual([{ path: 'base', before: 'debian-12@1', after: 'debian-12@2', note: 'new base' }]);
  });

  it('rebuilds an interrupted bake under its own VMID (no duplicate) and leaves a finished one alone', () => {
    const s = site();
    const half = built(s, 'debian-12-tools', VERSION, 9001, { template: false, status: 'running' });
    const c = change(plan(s, obs([built(s, 'debian-12', '1', 9000), half])), 'debian-12-tools');
    expect((c.after as ImageChangeAfter).work).toEqual([{ node: 'pve1', op: 'rebuild', vmid: 9001, importPresent: false, reason: 'an earlier build did not finish' }]);
    expect(c.steps[0]!.description).toBe('destroy VM 9001 on pve1 (an earlier build did not finish)');
    const done = change(plan(s, obs([built(s, 'debian-12', '1', 9000), built(s, 'debian-12-tools', VERSION, 9001)]), { manifests: [manifest(VERSION, '1', HASH, 9001)], channels: {} }), 'debian-12-tools');
    expect(done).toMatchObject({ action: 'noop', reason: 'template 9001@pve1 built from the same base and profile' });
  });
});
