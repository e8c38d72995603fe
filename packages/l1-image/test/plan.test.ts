import { describe, expect, it } from 'vitest';
import type { Site } from '@lab/intent';
import { siteSchema } from '../../intent/src/schema/site.js';
import {
  buildDigest,
  checksumText,
  desiredTemplates,
  EMPTY_CATALOG,
  planImages,
  renderProvenance,
  templateName,
  type ImageChangeAfter,
  type ImageObservation,
  type ObservedVm,
} from './_pure.js';

// The planner is pure: lab.yaml + an observation fixture in, a plan out.
const SHA = 'ab'.repeat(64);
function site(extra: Record<string, unknown> = {}): Site {
  return siteSchema().parse({
    name: 'homelab',
    proxmox: { mode: 'embedded', nodes: 2, guests: 'none' },
    nodes: [{ name: 'pve1', cores: 4, memory: '8GiB' }, { name: 'pve2', cores: 4, memory: '8GiB' }],
    storages: [
      { name: 'local', type: 'dir', path: '/var/lib/vz', content: ['import'] },
      { name: 'local-lvm', type: 'lvmthin', content: ['images'] },
    ],
    bridges: [{ name: 'vmbr0' }],
    secrets: { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] },
    images: [
      {
        name: 'debian-12',
        os: 'debian',
        stable: '1',
        versions: [{ version: '1', url: 'https://example.org/1.qcow2', checksum: { algorithm: 'sha512', value: SHA } }],
        storage: 'local',
        ...extra,
      },
    ],
  }) as Site;
}

function obs(vms: ObservedVm[] = [], used: number[] = []): ImageObservation {
  return { nodes: ['pve1', 'pve2'], vms, usedVmids: [...used, ...vms.map((v) => v.vmid)], importVolumes: [], importDiskImages: true };
}

function template(node: string, vmid: number, over: Partial<ObservedVm> = {}, url = 'https://example.org/1.qcow2'): ObservedVm {
  const [d] = desiredTemplates(site()).templates;
  return {
    node,
    vmid,
    name: templateName('debian-12', '1'),
    tags: ['lab-image-debian-12-1', 'lab-template'],
    template: true,
    status: 'stopped',
    provenance: { image: 'debian-12', version: '1', url, checksum: checksumText(d!), build: d!.build },
    config: { scsi0: `local-lvm:base-${vmid}-disk-0,size=2G`, ide2: `local-lvm:vm-${vmid}-cloudinit,media=cdrom`, serial0: 'socket', agent: '1' },
    ...over,
  };
}

const plan = (s: Site, o: ImageObservation) => planImages(desiredTemplates(s).templates, o, EMPTY_CATALOG, { labVersion: 't', createdAt: new Date(0) });
const work = (p: ReturnType<typeof plan>) => (p.changes[0]!.after as ImageChangeAfter).work;

describe('planImages', () => {
  it('creates one template per node with the lowest free VMIDs of the range', () => {
    const p = plan(site(), obs([], [9000, 9002]));
    expect(p.changes.map((c) => [c.address, c.action, c.impact])).toEqual([['_site/l1/image[debian-12@1]', 'create', 'none']]);
    expect(work(p).map((w) => [w.node, w.op, w.vmid])).toEqual([['pve1', 'build', 9001], ['pve2', 'build', 9003]]);
  });

  it('adds the missing node of a version built elsewhere as an update, and records unrecorded templates', () => {
    const p = plan(site(), obs([template('pve1', 9000)]));
    expect(p.changes[0]!.action).toBe('update');
    expect(work(p).map((w) => [w.node, w.op])).toEqual([['pve1', 'record'], ['pve2', 'build']]);
  });

  it('replaces a template built from another checksum when no VM uses it, and refuses when one does', () => {
    const other = template('pve1', 9000, { provenance: { image: 'debian-12', version: '1', url: 'https://example.org/1.qcow2', checksum: `sha512:${'cd'.repeat(64)}`, build: 'x' } });
    const free = plan(site({ nodes: ['pve1'] }), obs([other]));
    expect([free.changes[0]!.action, free.changes[0]!.impact]).toEqual(['replace', 'recreate']);
    expect(work(free)[0]).toMatchObject({ op: 'rebuild', vmid: 9000 });
    const user: ObservedVm = { node: 'pve1', vmid: 120, name: 'media', tags: ['lab-image-debian-12-1'], template: false, status: 'running' };
    const used = plan(site({ nodes: ['pve1'] }), obs([other, user]));
    expect(used.changes[0]!.action).toBe('noop');
    expect(used.diagnostics.map((d) => d.code)).toEqual(['LAB_L1_TEMPLATE_IN_USE']);
  });

  it('reports locked build VMs, an exhausted VMID range and PVE without disk import', () => {
    expect(plan(site({ nodes: ['pve1'] }), obs([template('pve1', 9000, { lock: 'create', template: false })])).diagnostics.map((d) => d.code)).toEqual(['LAB_L1_TEMPLATE_LOCKED']);
    const full = Array.from({ length: 1000 }, (_, i) => 9000 + i);
    expect(plan(site({ nodes: ['pve1'] }), obs([], full)).diagnostics.map((d) => d.code)).toEqual(['LAB_L1_VMID_EXHAUSTED']);
    expect(plan(site(), { ...obs(), importDiskImages: false }).diagnostics.map((d) => d.code)).toEqual(['LAB_L1_IMPORT_UNSUPPORTED']);
  });

  it('a clone that kept the description is not mistaken for a template', () => {
    const clone = template('pve1', 130, { name: 'media', template: false, tags: ['lab-image-debian-12-1'] });
    const p = plan(site({ nodes: ['pve1'] }), obs([clone]));
    expect(work(p)).toEqual([{ node: 'pve1', op: 'build', vmid: 9000, importPresent: false, reason: 'no template yet' }]);
  });

  it('round-trips provenance and keeps build digests stable', () => {
    expect(buildDigest({ a: 1, b: 2 })).toBe(buildDigest({ b: 2, a: 1 }));
    expect(renderProvenance({ image: 'i', version: 'v', url: 'u', checksum: 'sha256:x', build: 'b' })).toContain('lab-version: v');
  });
});
