import { LabError } from '@lab/core';
import { pveList, updateVmConfig, type PveClient } from '@lab/pve';
import { stringify } from 'yaml';
import { parseProps, parsePveSize } from './_props.js';
import { describeVm, LAB_TAG, personaTag } from './identity.js';
import { bootDisk } from './plan.js';

/** A `vm:` section written from a live VM, in persona YAML terms. */
export interface AdoptedVm {
  readonly section: Record<string, unknown>;
  /** Keys of the VM config the section now owns. */
  readonly owned: readonly string[];
}

const NIC_MODELS = ['virtio', 'e1000', 'vmxnet3'];
const GIB = 2 ** 30;

function size(bytes: number): string {
  return bytes % GIB === 0 ? `${bytes / GIB}GiB` : `${Math.round(bytes / 2 ** 20)}MiB`;
}

/**
 * Read a VM's config back into a persona `vm:` section: node, vmid, image (from its
 * `lab-image-<name>-<version>` tag or `image`), cores, sockets, memory, balloon, disks, NICs with
 * their cloud-init addresses, DNS, tags (without lab's), onboot, protection.
 */
export function adoptVm(config: Readonly<Record<string, string>>, at: { node: string; vmid: number; image?: string; imageTags?: readonly { tag: string; ref: string }[] }): AdoptedVm {
  const tags = pveList(config['tags']);
  const image = at.image ?? at.imageTags?.find((t) => tags.includes(t.tag))?.ref;
  if (!image) {
    throw new LabError({ code: 'LAB_L2_ADOPT_IMAGE', summary: `VM ${at.vmid} names no lab image`, hint: 'pass the image it runs: lab adopt --vmid N --persona name --image debian-12@stable' });
  }
  const owned: string[] = ['name', 'cores', 'memory', 'onboot', 'protection', 'tags', 'description'];
  const root = bootDisk(config);
  const disks: Record<string, unknown>[] = [];
  const diskSlots = Object.keys(config).filter((k) => /^(scsi|virtio|sata)\d+$/.test(k) && !/media=cdrom|cloudinit/.test(config[k]!)).sort((a, b) => (a === root ? -1 : b === root ? 1 : a.localeCompare(b, 'en', { numeric: true })));
  for (const slot of diskSlots) {
    const props = parseProps(config[slot], 'file');
    const file = [...parseProps(config[slot])].length > 0 ? config[slot]!.split(',')[0]! : '';
    disks.push({ name: slot === root ? 'root' : `disk-${slot}`, size: size(parsePveSize(props.get('size')) ?? GIB), storage: file.split(':')[0] });
  }
  const nics: Record<string, unknown>[] = [];
  for (let i = 0; config[`net${i}`] !== undefined; i++) {
    const net = parseProps(config[`net${i}`]);
    const ip = parseProps(config[`ipconfig${i}`]);
    const model = [...net.keys()].find((k) => NIC_MODELS.includes(k)) ?? 'virtio';
    nics.push({
      bridge: net.get('bridge'),
      ...(net.has('tag') ? { vlan: Number(net.get('tag')) } : {}),
      ...(ip.get('ip') ? { ip: ip.get('ip') } : {}),
      ...(ip.get('gw') ? { gateway: ip.get('gw') } : {}),
      ...(model !== 'virtio' ? { model } : {}),
      firewall: net.get('firewall') === '1',
    });
    owned.push(`net${i}`, `ipconfig${i}`);
  }
  const section: Record<string, unknown> = {
    node: at.node,
    vmid: at.vmid,
    image,
    cores: Number(config['cores'] ?? 1),
    ...(config['sockets'] && config['sockets'] !== '1' ? { sockets: Number(config['sockets']) } : {}),
    memory: size(Number(config['memory'] ?? 512) * 2 ** 20),
    ...(config['balloon'] !== undefined ? { balloon: size(Number(config['balloon']) * 2 ** 20) } : {}),
    disks,
    nics,
    ...(config['nameserver'] || config['searchdomain']
      ? { dns: { ...(config['nameserver'] ? { servers: config['nameserver'].split(/\s+/) } : {}), ...(config['searchdomain'] ? { search: config['searchdomain'].split(/\s+/) } : {}) } }
      : {}),
    tags: tags.filter((t) => t !== LAB_TAG && !t.startsWith('lab-')),
    onboot: config['onboot'] === '1',
    protection: config['protection'] === '1',
  };
  return { section, owned };
}

/** The section as YAML under `vm:`. */
export function renderVmSection(section: Record<string, unknown>): string {
  return stringify({ vm: section }, { flowCollectionPadding: true, lineWidth: 120 });
}

/**
 * Make a VM lab's without touching the guest: rename it to the persona, add lab's tags and the
 * `adopted` marker (fast-plug keys, impact none). Its cloud-init identity stays its own.
 */
export async function markAdopted(client: PveClient, at: { node: string; vmid: number }, persona: string, personaTags: readonly string[], text: string | undefined): Promise<void> {
  const tags = [...new Set([LAB_TAG, personaTag(persona), ...personaTags])].sort().join(';');
  await updateVmConfig(client, at, { name: persona, tags, description: describeVm(persona, text, true) });
}
