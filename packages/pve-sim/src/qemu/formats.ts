import type { PropertyFormat, PropSchema } from '../schema/_types.js';
import { registerPropertyFormat } from '../schema/_formats.js';

/** Property-string formats of the qemu config (QemuServer.pm, Drive.pm, Cloudinit). */

const b: PropSchema = { type: 'boolean', optional: true };
const i = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'integer', optional: true, ...extra });
const s = (extra: Partial<PropSchema> = {}): PropSchema => ({ type: 'string', optional: true, ...extra });

const driveBase: Record<string, PropSchema> = {
  volume: { alias: 'file' },
  file: { type: 'string', format: 'pve-volume-id-or-qm-path', defaultKey: true },
  media: s({ enum: ['cdrom', 'disk'], default: 'disk' }),
  cyls: i(),
  heads: i(),
  secs: i(),
  trans: s({ enum: ['none', 'lba', 'auto'] }),
  snapshot: b,
  cache: s({ enum: ['none', 'writethrough', 'writeback', 'unsafe', 'directsync'] }),
  format: s({ enum: ['raw', 'cow', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop'] }),
  size: s({ format: 'disk-size' }),
  backup: b,
  replicate: b,
  rerror: s({ enum: ['ignore', 'report', 'stop'] }),
  werror: s({ enum: ['enospc', 'ignore', 'report', 'stop'] }),
  aio: s({ enum: ['native', 'threads', 'io_uring'] }),
  discard: s({ enum: ['ignore', 'on'] }),
  detect_zeroes: b,
  serial: s({ format: 'urlencoded', maxLength: 60 }),
  shared: b,
  mbps: { type: 'number', optional: true, minimum: 1 },
  mbps_rd: { type: 'number', optional: true, minimum: 1 },
  mbps_wr: { type: 'number', optional: true, minimum: 1 },
  iops: i({ minimum: 10 }),
  iops_rd: i({ minimum: 10 }),
  iops_wr: i({ minimum: 10 }),
  'import-from': s({ format: 'pve-volume-id-or-absolute-path' }),
};

export const IDE_FORMAT: PropertyFormat = { ...driveBase, model: s({ format: 'urlencoded', maxLength: 120 }), ssd: b, wwn: s() };
export const SCSI_FORMAT: PropertyFormat = {
  ...driveBase,
  iothread: b,
  product: s(),
  vendor: s(),
  queues: i({ minimum: 2 }),
  ro: b,
  scsiblock: b,
  ssd: b,
  wwn: s(),
};
export const SATA_FORMAT: PropertyFormat = { ...driveBase, ssd: b, wwn: s() };
export const VIRTIO_FORMAT: PropertyFormat = { ...driveBase, iothread: b, ro: b };
export const EFIDISK_FORMAT: PropertyFormat = {
  volume: { alias: 'file' },
  file: { type: 'string', format: 'pve-volume-id-or-qm-path', defaultKey: true },
  format: driveBase['format']!,
  size: s({ format: 'disk-size' }),
  efitype: s({ enum: ['2m', '4m'] }),
  'pre-enrolled-keys': b,
  'ms-cert': s({ enum: ['2011', '2023'] }),
  'import-from': driveBase['import-from']!,
};
export const TPMSTATE_FORMAT: PropertyFormat = {
  volume: { alias: 'file' },
  file: { type: 'string', format: 'pve-volume-id-or-qm-path', defaultKey: true },
  size: s({ format: 'disk-size' }),
  version: s({ enum: ['v1.2', 'v2.0'] }),
  'import-from': driveBase['import-from']!,
};
export const UNUSED_FORMAT: PropertyFormat = {
  volume: { alias: 'file' },
  file: { type: 'string', format: 'pve-volume-id', defaultKey: true },
};

export const NIC_MODELS = [
  'rtl8139',
  'ne2k_pci',
  'e1000',
  'pcnet',
  'virtio',
  'ne2k_isa',
  'i82551',
  'i82557b',
  'i82559er',
  'vmxnet3',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
] as const;

export const NET_FORMAT: PropertyFormat = {
  macaddr: s({ format: 'mac-addr' }),
  model: { type: 'string', enum: NIC_MODELS, defaultKey: true },
  ...Object.fromEntries(NIC_MODELS.map((m) => [m, { keyAlias: 'model', alias: 'macaddr' } satisfies PropSchema])),
  bridge: s({ format: 'pve-bridge-id' }),
  queues: i({ minimum: 0, maximum: 64 }),
  rate: { type: 'number', optional: true, minimum: 0 },
  tag: i({ minimum: 1, maximum: 4094 }),
  trunks: s({ pattern: /\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*/ }),
  firewall: b,
  link_down: b,
  mtu: i({ minimum: 1, maximum: 65520 }),
};

export const IPCONFIG_FORMAT: PropertyFormat = {
  ip: s({ format: 'pve-ipv4-config', default: 'dhcp' }),
  gw: s({ format: 'ipv4' }),
  ip6: s({ format: 'pve-ipv6-config', default: 'dhcp' }),
  gw6: s({ format: 'ipv6' }),
};

export const AGENT_FORMAT: PropertyFormat = {
  enabled: { type: 'boolean', defaultKey: true, default: 0 },
  fstrim_cloned_disks: b,
  'freeze-fs-on-backup': b,
  type: s({ enum: ['virtio', 'isa'], default: 'virtio' }),
};

export const VGA_FORMAT: PropertyFormat = {
  type: s({
    defaultKey: true,
    enum: ['cirrus', 'qxl', 'qxl2', 'qxl3', 'qxl4', 'none', 'serial0', 'serial1', 'serial2', 'serial3', 'std', 'virtio', 'virtio-gl', 'vmware'],
  }),
  memory: i({ minimum: 4, maximum: 512 }),
  clipboard: s({ enum: ['vnc'] }),
};

export const BOOT_FORMAT: PropertyFormat = {
  legacy: s({ defaultKey: true, pattern: /[acdn]{1,4}/ }),
  order: s({ format: 'pve-qm-bootdev-list' }),
};

export const MEMORY_FORMAT: PropertyFormat = {
  current: { type: 'integer', defaultKey: true, minimum: 16, default: 512 },
};

export const CPU_FORMAT: PropertyFormat = {
  cputype: s({ defaultKey: true, pattern: /[+-]?[\w\-. ]+/ }),
  'reported-model': s(),
  hidden: b,
  'hv-vendor-id': s({ pattern: /[a-zA-Z0-9]{1,12}/ }),
  flags: s({ pattern: /(?:[+-][a-zA-Z0-9\-_.]+;?)*/ }),
  'phys-bits': s(),
};

export const SMBIOS1_FORMAT: PropertyFormat = {
  uuid: s({ pattern: /[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}/ }),
  version: s(),
  serial: s(),
  manufacturer: s(),
  product: s(),
  sku: s(),
  family: s(),
  base64: b,
};

export const META_FORMAT: PropertyFormat = {
  ctime: i({ minimum: 0 }),
  'creation-qemu': s({ pattern: /\d+(?:\.\d+)+(?:\+pve\d+)?/ }),
};

export const CICUSTOM_FORMAT: PropertyFormat = {
  meta: s({ format: 'pve-volume-id' }),
  network: s({ format: 'pve-volume-id' }),
  user: s({ format: 'pve-volume-id' }),
  vendor: s({ format: 'pve-volume-id' }),
};

export const RNG_FORMAT: PropertyFormat = {
  source: { type: 'string', enum: ['/dev/urandom', '/dev/random', '/dev/hwrng'], defaultKey: true },
  max_bytes: i({ default: 1024 }),
  period: i({ default: 1000 }),
};

export const WATCHDOG_FORMAT: PropertyFormat = {
  model: s({ defaultKey: true, enum: ['i6300esb', 'ib700'] }),
  action: s({ enum: ['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none'] }),
};

export const AUDIO_FORMAT: PropertyFormat = {
  device: { type: 'string', enum: ['ich9-intel-hda', 'intel-hda', 'AC97'] },
  driver: s({ enum: ['spice', 'none'] }),
};

for (const [name, fmt] of Object.entries({
  'pve-qm-ide': IDE_FORMAT,
  'pve-qm-scsi': SCSI_FORMAT,
  'pve-qm-sata': SATA_FORMAT,
  'pve-qm-virtio': VIRTIO_FORMAT,
  'pve-qm-efidisk': EFIDISK_FORMAT,
  'pve-qm-tpmstate': TPMSTATE_FORMAT,
  'pve-qm-net': NET_FORMAT,
  'pve-qm-ipconfig': IPCONFIG_FORMAT,
  'pve-qm-boot': BOOT_FORMAT,
  'pve-vm-cpu-conf': CPU_FORMAT,
  'pve-qm-smbios1': SMBIOS1_FORMAT,
  'pve-qm-cicustom': CICUSTOM_FORMAT,
})) {
  registerPropertyFormat(name, fmt);
}

/** Drive format by config key (`scsi3` → SCSI). */
export function driveFormat(key: string): PropertyFormat | undefined {
  if (/^ide[0-3]$/.test(key)) return IDE_FORMAT;
  if (/^scsi([0-9]|[12][0-9]|30)$/.test(key)) return SCSI_FORMAT;
  if (/^sata[0-5]$/.test(key)) return SATA_FORMAT;
  if (/^virtio([0-9]|1[0-5])$/.test(key)) return VIRTIO_FORMAT;
  if (key === 'efidisk0') return EFIDISK_FORMAT;
  if (key === 'tpmstate0') return TPMSTATE_FORMAT;
  if (/^unused\d+$/.test(key) && Number(key.slice(6)) < 256) return UNUSED_FORMAT;
  return undefined;
}
