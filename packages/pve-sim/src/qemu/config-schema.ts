import type { ObjectSchema, PropSchema } from '../schema/_types.js';
import {
  AGENT_FORMAT,
  AUDIO_FORMAT,
  BOOT_FORMAT,
  CICUSTOM_FORMAT,
  CPU_FORMAT,
  IPCONFIG_FORMAT,
  MEMORY_FORMAT,
  META_FORMAT,
  NET_FORMAT,
  RNG_FORMAT,
  SMBIOS1_FORMAT,
  VGA_FORMAT,
  WATCHDOG_FORMAT,
  driveFormat,
} from './formats.js';

const o = (schema: PropSchema): PropSchema => ({ optional: true, ...schema });

const LOCKS = [
  'backup',
  'clone',
  'create',
  'migrate',
  'rollback',
  'snapshot',
  'snapshot-delete',
  'suspending',
  'suspended',
  'import',
] as const;

/** The qemu config keys PVE 8.4 knows (the simulator's subset), keyed by name. */
const BASE: Record<string, PropSchema> = {
  acpi: o({ type: 'boolean', default: 1 }),
  affinity: o({ type: 'string', format: 'pve-cpuset' }),
  agent: o({ type: 'string', format: AGENT_FORMAT }),
  arch: o({ type: 'string', enum: ['x86_64', 'aarch64'] }),
  args: o({ type: 'string' }),
  audio0: o({ type: 'string', format: AUDIO_FORMAT }),
  autostart: o({ type: 'boolean', default: 0 }),
  balloon: o({ type: 'integer', minimum: 0 }),
  bios: o({ type: 'string', enum: ['seabios', 'ovmf'], default: 'seabios' }),
  boot: o({ type: 'string', format: BOOT_FORMAT }),
  bootdisk: o({ type: 'string', format: 'pve-qm-bootdisk', pattern: /(ide|sata|scsi|virtio)\d+/ }),
  cdrom: o({ type: 'string', format: driveFormat('ide2')! }),
  cicustom: o({ type: 'string', format: CICUSTOM_FORMAT }),
  cipassword: o({ type: 'string' }),
  citype: o({ type: 'string', enum: ['configdrive2', 'nocloud', 'opennebula'] }),
  ciupgrade: o({ type: 'boolean', default: 1 }),
  ciuser: o({ type: 'string' }),
  cores: o({ type: 'integer', minimum: 1, default: 1 }),
  cpu: o({ type: 'string', format: CPU_FORMAT }),
  cpulimit: o({ type: 'number', minimum: 0, maximum: 128, default: 0 }),
  cpuunits: o({ type: 'integer', minimum: 1, maximum: 262144 }),
  description: o({ type: 'string', maxLength: 8192 }),
  freeze: o({ type: 'boolean' }),
  hookscript: o({ type: 'string', format: 'pve-volume-id' }),
  hotplug: o({ type: 'string', format: 'pve-hotplug-features', default: 'network,disk,usb' }),
  hugepages: o({ type: 'string', enum: ['any', '2', '1024'] }),
  keephugepages: o({ type: 'boolean', default: 0 }),
  keyboard: o({
    type: 'string',
    enum: ['de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it', 'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr'],
  }),
  kvm: o({ type: 'boolean', default: 1 }),
  localtime: o({ type: 'boolean' }),
  lock: o({ type: 'string', enum: LOCKS }),
  machine: o({ type: 'string', maxLength: 40 }),
  memory: o({ type: 'string', format: MEMORY_FORMAT }),
  meta: o({ type: 'string', format: META_FORMAT }),
  migrate_downtime: o({ type: 'number', minimum: 0, default: 0.1 }),
  migrate_speed: o({ type: 'integer', minimum: 0, default: 0 }),
  name: o({ type: 'string', format: 'dns-name' }),
  nameserver: o({ type: 'string', format: 'address-list' }),
  numa: o({ type: 'boolean', default: 0 }),
  onboot: o({ type: 'boolean', default: 0 }),
  ostype: o({ type: 'string', enum: ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] }),
  protection: o({ type: 'boolean', default: 0 }),
  reboot: o({ type: 'boolean', default: 1 }),
  rng0: o({ type: 'string', format: RNG_FORMAT }),
  scsihw: o({ type: 'string', enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'], default: 'lsi' }),
  searchdomain: o({ type: 'string' }),
  shares: o({ type: 'integer', minimum: 0, maximum: 50000, default: 1000 }),
  smbios1: o({ type: 'string', format: SMBIOS1_FORMAT, maxLength: 512 }),
  smp: o({ type: 'integer', minimum: 1, default: 1 }),
  sockets: o({ type: 'integer', minimum: 1, default: 1 }),
  sshkeys: o({ type: 'string', format: 'urlencoded' }),
  startdate: o({ type: 'string', pattern: /(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?)/ }),
  startup: o({ type: 'string', format: 'pve-startup-order' }),
  tablet: o({ type: 'boolean', default: 1 }),
  tags: o({ type: 'string', format: 'pve-tag-list' }),
  tdf: o({ type: 'boolean', default: 0 }),
  template: o({ type: 'boolean', default: 0 }),
  vcpus: o({ type: 'integer', minimum: 1, default: 0 }),
  vga: o({ type: 'string', format: VGA_FORMAT }),
  vmgenid: o({ type: 'string', pattern: /(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])/ }),
  vmstatestorage: o({ type: 'string', format: 'pve-storage-id' }),
  watchdog: o({ type: 'string', format: WATCHDOG_FORMAT }),
};

function indexed(): Record<string, PropSchema> {
  const out: Record<string, PropSchema> = {};
  const drives = [
    ...Array.from({ length: 4 }, (_v, n) => `ide${n}`),
    ...Array.from({ length: 31 }, (_v, n) => `scsi${n}`),
    ...Array.from({ length: 16 }, (_v, n) => `virtio${n}`),
    ...Array.from({ length: 6 }, (_v, n) => `sata${n}`),
    'efidisk0',
    'tpmstate0',
    ...Array.from({ length: 256 }, (_v, n) => `unused${n}`),
  ];
  for (const d of drives) out[d] = o({ type: 'string', format: driveFormat(d)! });
  for (let n = 0; n < 32; n++) {
    out[`net${n}`] = o({ type: 'string', format: NET_FORMAT });
    out[`ipconfig${n}`] = o({ type: 'string', format: IPCONFIG_FORMAT });
  }
  for (let n = 0; n < 4; n++) out[`serial${n}`] = o({ type: 'string', pattern: /(\/dev\/.+|socket)/ });
  for (let n = 0; n < 3; n++) out[`parallel${n}`] = o({ type: 'string', pattern: /\/dev\/parport\d+|\/dev\/usb\/lp\d+/ });
  for (let n = 0; n < 5; n++) out[`usb${n}`] = o({ type: 'string' });
  for (let n = 0; n < 16; n++) out[`hostpci${n}`] = o({ type: 'string' });
  for (let n = 0; n < 8; n++) out[`numa${n}`] = o({ type: 'string' });
  return out;
}

/** Every settable config key. */
export const CONFIG_SCHEMA: ObjectSchema = { ...BASE, ...indexed() };

/** Keys that exist only in the file (snapshots, runtime), never settable through the API. */
const FILE_ONLY: Record<string, PropSchema> = {
  parent: { type: 'string' },
  snaptime: { type: 'integer' },
  vmstate: { type: 'string' },
  runningmachine: { type: 'string' },
  runningcpu: { type: 'string' },
  digest: { type: 'string' },
};

export function optionExists(key: string): boolean {
  return CONFIG_SCHEMA[key] !== undefined;
}

/**
 * JSON type of a config value in API answers (§6.8): integers and booleans become numbers,
 * floats and everything else stay strings.
 */
export function jsonValue(key: string, raw: string): string | number {
  const t = (CONFIG_SCHEMA[key] ?? FILE_ONLY[key])?.type;
  if ((t === 'integer' || t === 'boolean') && /^[+-]?\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** Cloud-init keys (PVE's `$confdesc_cloudinit`, minus the indexed `ipconfigN`). */
export const CLOUDINIT_KEYS = ['cicustom', 'cipassword', 'citype', 'ciupgrade', 'ciuser', 'nameserver', 'searchdomain', 'sshkeys'] as const;

export function isCloudinitKey(key: string): boolean {
  return (CLOUDINIT_KEYS as readonly string[]).includes(key) || /^ipconfig\d+$/.test(key);
}

/** Keys applied to a running VM at once (`$fast_plug_option`). */
export function isFastPlug(key: string): boolean {
  return (
    ['description', 'hookscript', 'lock', 'migrate_downtime', 'migrate_speed', 'name', 'onboot', 'protection', 'shares', 'startup', 'tags', 'vmstatestorage'].includes(
      key,
    ) || isCloudinitKey(key)
  );
}

/** Keys whose change `GET …/cloudinit` reports (`cloudinit_pending_properties`). */
export function isCloudinitPendingProperty(key: string): boolean {
  return isCloudinitKey(key) || key === 'name' || /^net\d+$/.test(key);
}

export type PrivCategory = 'CPU' | 'Memory' | 'HWType' | 'Options' | 'PowerMgmt' | 'Disk' | 'Network' | 'Cloudinit' | 'skip' | 'root';

/** The VM.Config.* privilege a key needs (`$check_vm_modify_config_perm`). */
export function privCategory(key: string): PrivCategory {
  if (isDriveKey(key) || key === 'cdrom' || /^(unused|serial|usb|hostpci|virtiofs)\d+$/.test(key) || key === 'tags') return 'skip';
  if (['cores', 'cpu', 'runningcpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus'].includes(key) || /^numa\d+$/.test(key)) return 'CPU';
  if (['memory', 'balloon', 'shares'].includes(key)) return 'Memory';
  if (['acpi', 'hotplug', 'kvm', 'machine', 'runningmachine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog', 'audio0', 'rng0'].includes(key)) return 'HWType';
  if (
    ['agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime', 'migrate_speed', 'name', 'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf', 'template'].includes(key)
  ) {
    return 'Options';
  }
  if (key === 'freeze') return 'PowerMgmt';
  if (['boot', 'bootdisk', 'vmstatestorage'].includes(key)) return 'Disk';
  if (/^net\d+$/.test(key)) return 'Network';
  if (isCloudinitKey(key)) return 'Cloudinit';
  return 'root';
}

/** ide/scsi/virtio/sata/efidisk0/tpmstate0 — not unusedN (`is_valid_drivename`). */
export function isDriveKey(key: string): boolean {
  return driveFormat(key) !== undefined && !/^unused/.test(key);
}

/** Drive keys in PVE's order (used to pick the first disk / cdrom). */
export const DRIVE_ORDER: readonly string[] = [
  ...Array.from({ length: 4 }, (_v, n) => `ide${n}`),
  ...Array.from({ length: 31 }, (_v, n) => `scsi${n}`),
  ...Array.from({ length: 16 }, (_v, n) => `virtio${n}`),
  ...Array.from({ length: 6 }, (_v, n) => `sata${n}`),
  'efidisk0',
  'tpmstate0',
];
