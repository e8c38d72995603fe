import { z } from 'zod';
import type { Build } from './_build.js';
import { absPath, bool, CIDR4_RE, duration, int, ipv4, IPV4_RE, msg, name, obj, oneOf, pattern, size, text } from './_leaf.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

const IMAGE_REF = /^([a-z0-9][a-z0-9.-]*)@(stable|[A-Za-z0-9][A-Za-z0-9._-]*)$/;

/** `debian-12@stable` → `{ name: 'debian-12', version: 'stable' }`. */
export function imageRef() {
  return pattern(
    IMAGE_REF,
    'an image reference',
    'debian-12@stable',
    'write <image>@stable to follow the catalogue in lab.yaml, or <image>@<version> to pin one listed version',
  )
    .transform((ref) => {
      const m = IMAGE_REF.exec(ref);
      return { name: m?.[1] ?? ref, version: m?.[2] ?? 'stable' };
    })
    .meta({ title: 'image reference' });
}

function disk(b: Build) {
  return obj({
    name: pattern(/^[a-z][a-z0-9-]{0,30}$/, 'a disk name', 'data', 'lowercase letters, digits and "-"; the boot disk is named "root"').describe(
      'Identifies the disk. `root` is the boot disk cloned from the image; any other name is a data disk.',
    ),
    size: b.req(size({ min: GIB, minHint: 'disks are at least 1GiB; a bare number is bytes, write 32G' })).describe(
      'Disk size. Growing is applied online; shrinking is refused because Proxmox cannot shrink disks.',
    ),
    storage: b.req(name('local-lvm')).describe('Proxmox storage for the disk, declared in lab.yaml with `images` content.'),
    persistent: bool()
      .default(false)
      .describe(
        'Data that outlives the VM: lab detaches the disk before a re-create and re-attaches it to the new VM. Requires `mount`; not allowed on `root`.',
      ),
    mount: absPath('/srv/data').optional().describe('Mount point inside the guest for a data disk; lab formats it once and mounts it by label.'),
    filesystem: oneOf(['ext4', 'xfs', 'btrfs']).default('ext4').describe('Filesystem created on a data disk the first time (never reformatted).'),
    cache: oneOf(['none', 'writeback', 'writethrough', 'directsync', 'unsafe']).default('none').describe('QEMU cache mode.'),
    discard: bool().default(true).describe('Pass TRIM through to thin storage.'),
    ssd: bool().default(true).describe('Present the disk as an SSD to the guest.'),
    iothread: bool().default(true).describe('Give the disk its own IO thread (virtio-scsi-single).'),
    backup: bool().default(true).describe('Include the disk in Proxmox (vzdump) VM backups.'),
  });
}

const IP_OR_DHCP = new RegExp(`^(?:dhcp|${CIDR4_RE.source.slice(1, -1)})$`);

function nic(b: Build) {
  return obj({
    bridge: b.req(pattern(/^[a-z][a-z0-9_.-]{0,14}$/, 'a bridge name', 'vmbr0')).describe('Bridge on the Proxmox node, declared in lab.yaml.'),
    vlan: int(1, 4094, 'a VLAN tag (1-4094)').optional().describe('802.1Q tag; the bridge must be VLAN-aware.'),
    ip: pattern(IP_OR_DHCP, 'an IPv4 address with prefix length or "dhcp"', '10.0.20.12/24')
      .default('dhcp')
      .describe('Address set by cloud-init: `dhcp` or a static address with prefix length.'),
    gateway: ipv4('10.0.20.1').optional().describe('Default gateway for a static address; must lie inside its subnet.'),
    ip6: pattern(/^(?:auto|dhcp|[0-9A-Fa-f:]+\/\d{1,3})$/, 'an IPv6 address with prefix length, "auto" or "dhcp"', 'auto')
      .optional()
      .describe('IPv6 configuration; omit to leave IPv6 to router advertisements.'),
    gateway6: pattern(/^[0-9A-Fa-f:]+$/, 'an IPv6 address', 'fd00:20::1').optional().describe('IPv6 default gateway for a static `ip6`.'),
    mac: pattern(/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/, 'a MAC address', 'BC:24:11:2A:3B:4C')
      .optional()
      .describe('Fixed MAC address (e.g. for DHCP reservations); Proxmox generates one when omitted.'),
    model: oneOf(['virtio', 'e1000', 'vmxnet3']).default('virtio').describe('Emulated NIC model.'),
    firewall: bool().default(true).describe('Enable the Proxmox firewall on this interface.'),
    mtu: int(576, 65_520, 'an MTU').optional().describe('Interface MTU; omit to inherit the bridge MTU.'),
  });
}

const GUEST_ANY = 'auto';

export function vmSchema(b: Build) {
  return obj({
    node: pattern(/^(?:auto|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/, 'a node name or "auto"', 'pve1')
      .default(GUEST_ANY)
      .describe('Proxmox node to run on; `auto` picks the node with the most free memory at creation.'),
    image: b.req(imageRef()).describe('Cloud image from the catalogue in lab.yaml: `<name>@stable` or `<name>@<version>`.'),
    vmid: int(100, 999_999_999, 'a VM id (100-999999999)').optional().describe('Fixed Proxmox VM id; lab allocates the next free id when omitted.'),
    cores: int(1, 512, 'a number of cores').default(2).describe('Cores per socket.'),
    sockets: int(1, 16, 'a number of sockets').default(1).describe('CPU sockets.'),
    cpu: pattern(/^[A-Za-z0-9_.+-]+$/, 'a QEMU CPU type', 'host').default('host').describe('QEMU CPU type; `host` passes the host CPU through.'),
    memory: b.req(size({ min: 64 * MIB, minHint: 'a bare number is bytes; write 4096M or 4GiB' })).describe('Memory of the VM.'),
    balloon: size()
      .optional()
      .describe('Minimum memory for ballooning (must not exceed `memory`); `0` disables the balloon device; omit for fixed memory.'),
    machine: oneOf(['q35', 'i440fx']).default('q35').describe('QEMU machine type.'),
    bios: oneOf(['seabios', 'ovmf']).default('seabios').describe('Firmware; `ovmf` is UEFI and adds an EFI disk on the first disk storage.'),
    disks: b.req(b.list('vm.disks', disk(b))).describe('Disks. One must be named `root` (the boot disk, cloned from the image).'),
    nics: b
      .req(z.array(nic(b), { error: () => msg('expected a list of network interfaces') }).min(1, { error: () => msg('a VM needs at least one network interface', 'lab reaches the guest over SSH on the first one') }))
      .describe(
      'Network interfaces, in order (`net0`, `net1`, …). The first one carries the management address lab uses for SSH.',
    ),
    dns: obj({
      servers: b.list('vm.dns.servers', ipv4('10.0.10.53')).default([]).describe('Name servers set by cloud-init.'),
      search: b.list('vm.dns.search', text('a domain')).default([]).describe('Search domains set by cloud-init.'),
    })
      .optional()
      .describe('Resolver settings; omit to take them from DHCP or the Proxmox node.'),
    tags: b
      .list('vm.tags', pattern(/^[a-z0-9_][a-z0-9_.+-]*$/, 'a Proxmox tag', 'media'))
      .default([])
      .describe('Proxmox tags. lab adds `lab` and `lab-persona-<name>` itself.'),
    onboot: bool().default(true).describe('Start the VM when the node boots.'),
    startup: obj({
      order: int(0, 1000, 'a start order').optional().describe('Lower starts first.'),
      up: duration().optional().describe('Delay before starting the next VM.'),
      down: duration().optional().describe('Shutdown timeout for this VM.'),
    })
      .optional()
      .describe('Start order and delays when the node boots.'),
    protection: bool().default(false).describe('Proxmox protection flag: the VM and its disks cannot be removed until it is cleared.'),
  });
}

/** Cross-field rules of `vm`, reported at the exact field. */
export function checkVm(vm: z.output<ReturnType<typeof vmSchema>>, ctx: z.RefinementCtx, base: (string | number)[]): void {
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path: [...base, ...path], message });
  };
  const root = vm.disks.findIndex((d) => d.name === 'root');
  if (root < 0) issue(['disks'], msg('no disk named "root"', 'add the boot disk: - { name: root, size: 16G, storage: local-lvm }'));
  vm.disks.forEach((d, i) => {
    if (d.name === 'root' && d.persistent) issue(['disks', i, 'persistent'], msg('the root disk cannot be persistent', 'put data on a separate disk with persistent: true and a mount'));
    if (d.name === 'root' && d.mount !== undefined) issue(['disks', i, 'mount'], msg('the root disk is mounted at / by the image', 'remove mount from the root disk'));
    if (d.name !== 'root' && d.persistent && d.mount === undefined) issue(['disks', i], msg(`persistent disk "${d.name}" has no mount point`, 'add mount: /srv/<name>'));
  });
  if (vm.balloon !== undefined && vm.balloon > vm.memory) issue(['balloon'], msg('balloon is larger than memory', 'balloon is the minimum memory; set it below memory, or 0 to disable'));
  vm.nics.forEach((n, i) => {
    if (n.gateway !== undefined && n.ip === 'dhcp') issue(['nics', i, 'gateway'], msg('a gateway is set but the address comes from DHCP', 'remove gateway, or set a static ip'));
    if (n.gateway !== undefined && n.ip !== 'dhcp' && !inSubnet(n.gateway, n.ip)) issue(['nics', i, 'gateway'], msg(`gateway ${n.gateway} is outside ${n.ip}`, 'set a gateway inside the subnet of ip, usually its .1'));
  });
  const mounts = new Map<string, string>();
  vm.disks.forEach((d, i) => {
    if (d.mount === undefined) return;
    const other = mounts.get(d.mount);
    if (other !== undefined) issue(['disks', i, 'mount'], msg(`mount point ${d.mount} is already used by disk "${other}"`));
    mounts.set(d.mount, d.name);
  });
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Is `ip` inside the subnet of `cidr` (`10.0.20.12/24`)? */
export function inSubnet(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  if (net === undefined || bits === undefined || !IPV4_RE.test(ip)) return false;
  const prefix = Number(bits);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(net) & mask) >>> 0);
}

