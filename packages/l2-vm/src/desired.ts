import { LabError } from '@lab/core';
import type { Disk, LoadedPersona, Nic, Site } from '@lab/intent';
import { diskSlots } from '@lab/intent';
import { formatProps } from './_props.js';
import { describeVm, hostKeySnippetName, LAB_TAG, personaTag } from './identity.js';

/** One disk as L2 wants it; `slot` is the PVE drive key. */
export interface DesiredDisk {
  readonly name: string;
  readonly slot: string;
  readonly storage: string;
  readonly size: number;
  readonly persistent: boolean;
  /** Drive options set when the disk is allocated (`discard=on,ssd=1,…`). */
  readonly options: string;
}

/**
 * What L2 wants for one persona, in Proxmox's own terms: `config` holds only the keys lab owns
 * for this persona (adr/0086), in the canonical text PVE stores, so the planner is a pure
 * comparison and a saved plan carries everything apply needs.
 */
export interface DesiredVm {
  readonly persona: string;
  readonly node: string;
  readonly vmid: number | undefined;
  readonly image: { readonly name: string; readonly version: string };
  readonly pool: string;
  readonly config: Readonly<Record<string, string>>;
  readonly disks: readonly DesiredDisk[];
  /** Dir storage with `snippets` content for the host-key vendor data. */
  readonly snippetStorage: string;
  /** The persona's own description (the marker is added to it). */
  readonly descriptionText: string | undefined;
  /** Declared management address (first NIC, without prefix), for known_hosts. */
  readonly address: string | undefined;
}

export interface DesiredOptions {
  /** OpenSSH public keys installed for `site.ssh.user` (the lab's identity). */
  readonly sshPublicKeys: readonly string[];
  /** The Proxmox pool of a lifecycle stage; L0 owns the naming (`poolName` of @lab/l0-host), the CLI passes it in. */
  readonly poolOf: (stage: 'stable' | 'experimental') => string;
}

const MIB = 2 ** 20;
const b01 = (v: boolean): string => (v ? '1' : '0');

/** Keys every lab VM owns whatever the persona says (agent, cloud-init identity, marker). */
export const ALWAYS_OWNED = ['name', 'cores', 'memory', 'onboot', 'protection', 'tags', 'description', 'agent', 'ciuser', 'ciupgrade', 'sshkeys', 'cicustom', 'hotplug', 'numa'] as const;

export function netValue(nic: Nic): string {
  return formatProps([
    ['', nic.mac ? `${nic.model}=${nic.mac.toUpperCase()}` : nic.model],
    ['bridge', nic.bridge],
    ['tag', nic.vlan === undefined ? undefined : String(nic.vlan)],
    ['firewall', b01(nic.firewall)],
    ['mtu', nic.mtu === undefined ? undefined : String(nic.mtu)],
  ]);
}

export function ipconfigValue(nic: Nic): string {
  return formatProps([
    ['ip', nic.ip],
    ['gw', nic.gateway],
    ['ip6', nic.ip6],
    ['gw6', nic.gateway6],
  ]);
}

function diskOptions(d: Disk): string {
  return formatProps([
    ['cache', d.cache === 'none' ? undefined : d.cache],
    ['discard', d.discard ? 'on' : undefined],
    ['iothread', d.iothread ? '1' : undefined],
    ['ssd', d.ssd ? '1' : undefined],
    ['backup', d.backup ? undefined : '0'],
  ]);
}

function resolveVersion(site: Site, persona: string, ref: { name: string; version: string }): string {
  if (ref.version !== 'stable') return ref.version;
  const img = site.images.find((i) => i.name === ref.name);
  if (!img) {
    throw new LabError({ code: 'LAB_L2_IMAGE_UNKNOWN', summary: `persona ${persona}: image ${ref.name} is not in the catalogue of lab.yaml`, hint: `add ${ref.name} under images: in lab.yaml` });
  }
  return img.stable;
}

/** A dir storage of lab.yaml with `snippets` content (default `local`). */
export function snippetStorageOf(site: Site): string {
  return site.storages.find((s) => s.content.includes('snippets'))?.name ?? 'local';
}

/** Is a `vm.<key>` written in the persona (or a mixin), not just a schema default? */
function declared(p: LoadedPersona, key: string): boolean {
  // `locate` answers for a missing key too, with its parent map's position; a written key has its own.
  const at = p.locate(['vm', key])?.source;
  const parent = p.locate(['vm'])?.source;
  if (!at) return false;
  return !parent || at.file !== parent.file || at.line !== parent.line || at.column !== parent.column;
}

export function desiredVm(p: LoadedPersona, site: Site, options: DesiredOptions): DesiredVm {
  const vm = p.persona.vm;
  const name = p.name;
  const stage = p.persona.lifecycle.stage;
  const tags = [...new Set([LAB_TAG, personaTag(name), ...vm.tags])].sort();
  const snippetStorage = snippetStorageOf(site);
  const config: Record<string, string> = {
    name,
    cores: String(vm.cores),
    memory: String(Math.round(vm.memory / MIB)),
    onboot: b01(vm.onboot),
    protection: b01(vm.protection),
    tags: tags.join(';'),
    description: describeVm(name, p.persona.description),
    agent: '1',
    // Memory hotplug needs NUMA; lab sets both so `memory +2GiB` is a hotplug, not a reboot.
    hotplug: 'network,disk,usb,memory',
    numa: '1',
    ciuser: site.ssh.user,
    // Packages are L3's business: a first-boot upgrade by cloud-init would race L3 for apt's
    // lock and make every rebuild slower and less reproducible.
    ciupgrade: '0',
    sshkeys: encodeURIComponent(options.sshPublicKeys.map((k) => k.trim()).join('\n')),
    cicustom: `vendor=${snippetStorage}:snippets/${hostKeySnippetName(name)}`,
  };
  if (declared(p, 'sockets')) config['sockets'] = String(vm.sockets);
  if (declared(p, 'cpu')) config['cpu'] = vm.cpu;
  if (vm.balloon !== undefined) config['balloon'] = String(Math.round(vm.balloon / MIB));
  if (vm.startup) {
    const s = formatProps([
      ['order', vm.startup.order === undefined ? undefined : String(vm.startup.order)],
      ['up', vm.startup.up === undefined ? undefined : String(vm.startup.up)],
      ['down', vm.startup.down === undefined ? undefined : String(vm.startup.down)],
    ]);
    if (s) config['startup'] = s;
  }
  if (vm.dns) {
    if (vm.dns.servers.length > 0) config['nameserver'] = vm.dns.servers.join(' ');
    if (vm.dns.search.length > 0) config['searchdomain'] = vm.dns.search.join(' ');
  }
  vm.nics.forEach((nic, i) => {
    config[`net${i}`] = netValue(nic);
    config[`ipconfig${i}`] = ipconfigValue(nic);
  });
  const slots = diskSlots(vm.disks);
  const disks: DesiredDisk[] = vm.disks.map((d) => ({
    name: d.name,
    slot: slots.get(d.name)!,
    storage: d.storage,
    size: d.size,
    persistent: d.persistent,
    options: diskOptions(d),
  }));
  const first = vm.nics[0];
  const address = first && first.ip !== 'dhcp' ? first.ip.split('/')[0] : undefined;
  return {
    persona: name,
    node: vm.node,
    vmid: vm.vmid,
    image: { name: vm.image.name, version: resolveVersion(site, name, vm.image) },
    pool: options.poolOf(stage),
    config,
    disks,
    snippetStorage,
    descriptionText: p.persona.description,
    address,
  };
}
