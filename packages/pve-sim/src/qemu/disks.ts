import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { ConfigSection, VolumeRecord } from '../state/model.js';
import { fail, paramError } from '../http/_errors.js';
import { parsePropertyString, type PropertyValues } from '../schema/property-string.js';
import { driveFormat, NET_FORMAT } from './formats.js';
import { isDriveKey } from './config-schema.js';
import { drivesOf, isCdrom, isCloudinitDrive, parseDrive, printDrive } from './vmconf.js';
import { allocImage, findVolume, parseVolid, storageConfig, volid as volidOf } from '../storage/volumes.js';
import { parseVolumeId } from '../storage/volname.js';
import { checkVolumeAccess } from '../routes/node-storage.js';
import { formatSize, GiB } from '../util/_size.js';

export const NEW_DISK_RE = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;
export const CLOUDINIT_SIZE = 4 * 1024 * 1024;

/** `$check_drive_param`: syntax rules for drives in create/update parameters. */
export function checkDriveParams(sim: Sim, params: Record<string, string>): void {
  for (const key of Object.keys(params).sort()) {
    if (!isDriveKey(key)) continue;
    const drive = parseDriveStrict(key, params[key]!);
    if (drive['import-from'] !== undefined) {
      const m = NEW_DISK_RE.exec(drive['file'] ?? '');
      if (!m || Number(m[3]) !== 0) {
        paramError({ [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
      }
      if (key === 'efidisk0') {
        for (const r of ['efitype', 'pre-enrolled-keys']) if (drive[r] === undefined) paramError({ [key]: `need to specify '${r}' when using 'import-from'` });
      } else if (key === 'tpmstate0' && drive['version'] === undefined) {
        paramError({ [key]: "need to specify 'version' when using 'import-from'" });
      }
    }
    const file = drive['file'] ?? '';
    const parts = parseVolumeId(file);
    if (parts && !NEW_DISK_RE.test(file) && parts.volname !== 'cloudinit') {
      const { parsed } = parseVolid(sim, file);
      if (parsed.vtype === 'iso' && drive['media'] !== 'cdrom') paramError({ [key]: "explicit 'media=cdrom' is required for iso images" });
    }
  }
}

export function parseDriveStrict(key: string, value: string): PropertyValues {
  try {
    return parsePropertyString(driveFormat(key)!, value);
  } catch {
    paramError({ [key]: 'unable to parse drive options' });
  }
}

/** `$check_storage_access`: privileges for every storage and volume the drives touch. */
export function checkStorageAccess(sim: Sim, principal: string, vmid: number, params: Record<string, string>, defaultStorage: string | undefined): void {
  for (const key of Object.keys(params).sort()) {
    if (!isDriveKey(key)) continue;
    const drive = parseDriveStrict(key, params[key]!);
    const file = drive['file'] ?? '';
    const parts = parseVolumeId(file);
    const cdrom = isCdrom(drive);
    if (!file || file === 'none' || file === 'cloudinit' || parts?.volname === 'cloudinit') {
      // nothing to check
    } else if (cdrom && file === 'cdrom') {
      sim.access.check(principal, '/', ['Sys.Console']);
    } else if (!cdrom && NEW_DISK_RE.test(file)) {
      const storage = NEW_DISK_RE.exec(file)![2] ?? defaultStorage;
      if (!storage) fail('no storage ID specified (and no default storage)');
      sim.access.check(principal, `/storage/${storage}`, ['Datastore.AllocateSpace']);
      const cfg = storageConfig(sim, storage);
      if (!cfg.content.includes('images')) paramError({ storage: `storage '${storage}' does not support vm images` });
    } else {
      checkVolumeAccess(sim, principal, file, vmid);
      if (parts) {
        const { parsed } = parseVolid(sim, file);
        if (parsed.vtype !== 'images' && parsed.vtype !== 'iso') paramError({ [key]: "content type needs to be 'images' or 'iso'" });
      }
    }
    const src = drive['import-from'];
    if (src !== undefined) {
      const sp = parseVolumeId(src);
      if (sp) {
        const { parsed } = parseVolid(sim, src);
        if (parsed.vtype !== 'images' && parsed.vtype !== 'import') {
          paramError({ [key]: `${src} has wrong type '${parsed.vtype}' - needs to be 'images' or 'import'` });
        }
        if (parsed.vmid !== undefined && parsed.vtype === 'images') sim.access.check(principal, `/vms/${parsed.vmid}`, ['VM.Clone']);
        else checkVolumeAccess(sim, principal, src, vmid);
      } else {
        checkVolumeAccess(sim, principal, src, vmid);
      }
    }
  }
  for (const key of Object.keys(params).sort()) {
    if (!/^unused\d+$/.test(key)) continue;
    const d = parseDrive(key, params[key]!);
    if (!d) paramError({ [key]: `failed to parse value '${params[key]}'` });
    if (!parseVolumeId(d.file)) paramError({ [key]: `not a valid volid: ${d.file}` });
    checkVolumeAccess(sim, principal, d.file, vmid, 'images');
  }
}

/** `check_bridge_access`: `SDN.Use` on the bridge (or bridge/VLAN) of every NIC. */
export function checkBridgeAccess(sim: Sim, principal: string, params: Record<string, string>): void {
  if (principal === 'root@pam') return;
  for (const key of Object.keys(params).sort()) {
    if (!/^net\d+$/.test(key)) continue;
    const net = parsePropertyString(NET_FORMAT, params[key]!);
    const bridge = net['bridge'];
    const tag = net['tag'];
    const trunks = net['trunks'];
    if (tag) sim.access.check(principal, `/sdn/zones/localnetwork/${bridge}/${tag}`, ['SDN.Use']);
    if (trunks) {
      for (const part of trunks.split(';')) {
        const [a, b] = part.split('-').map(Number);
        for (let t = a!; t <= (b ?? a!); t++) sim.access.check(principal, `/sdn/zones/localnetwork/${bridge}/${t}`, ['SDN.Use']);
      }
    }
    if (!tag && !trunks) sim.access.check(principal, `/sdn/zones/localnetwork/${bridge}`, ['SDN.Use']);
  }
}

/** The cloud-init drive key of a section other than `except`, if any. */
export function cloudinitKey(section: ConfigSection, except: string): string | undefined {
  return drivesOf(section).find(({ key, drive }) => key !== except && isCloudinitDrive(drive))?.key;
}

export interface CreateDisksContext {
  readonly sim: Sim;
  readonly principal: string;
  readonly node: string;
  readonly vmid: number;
  /** Sections already holding drives (config, pending) for the duplicate cloud-init check. */
  readonly existing: readonly ConfigSection[];
  readonly defaultStorage: string | undefined;
  readonly task: TaskHandle;
  /** A template's new disks become base volumes. */
  readonly template: boolean;
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * `create_disks`: allocate new disks (`STORE:SIZE`), import images (`STORE:0,import-from=`),
 * create the cloud-init volume (`STORE:cloudinit`), check existing volumes. Returns the final
 * drive strings and the volumes it allocated (freed by the caller on failure).
 */
export async function createDisks(ctx: CreateDisksContext, settings: Record<string, string>): Promise<{ created: Record<string, string>; allocated: VolumeRecord[] }> {
  const { sim, node, vmid, task } = ctx;
  const created: Record<string, string> = {};
  const allocated: VolumeRecord[] = [];
  for (const key of Object.keys(settings).sort()) {
    if (!isDriveKey(key)) continue;
    const disk: PropertyValues = { ...parseDriveStrict(key, settings[key]!) };
    const file = disk['file'] ?? '';
    const parts = parseVolumeId(file);
    if (!file || file === 'none' || file === 'cdrom') {
      delete disk['size'];
      created[key] = printDrive(key, disk);
      continue;
    }
    if (parts?.volname === 'cloudinit' || file === 'cloudinit') {
      const storage = parts?.storage ?? ctx.defaultStorage;
      if (!storage) throw new Error('no storage ID specified (and no default storage)');
      const dup = [...ctx.existing, created].map((s) => cloudinitKey(s, key)).find((k) => k !== undefined);
      if (dup) throw new Error(`${key} - cloud-init drive is already attached at '${dup}'`);
      const cfg = storageConfig(sim, storage);
      const fmt = cfg.type === 'dir' ? (disk['format'] ?? 'qcow2') : 'raw';
      const vol = await sim.withStorageLock(storage, async () =>
        allocImage(sim, { node, storage, vmid, size: CLOUDINIT_SIZE, name: `vm-${vmid}-cloudinit`, format: fmt }),
      );
      allocated.push(vol);
      disk['file'] = volidOf(vol);
      disk['media'] = 'cdrom';
      delete disk['format'];
      created[key] = printDrive(key, disk);
      task.log(`${key}: successfully created disk '${created[key]}'`);
      continue;
    }
    const m = NEW_DISK_RE.exec(file);
    if (m) {
      const storage = m[2] ?? ctx.defaultStorage;
      if (!storage) throw new Error('no storage ID specified (and no default storage)');
      const cfg = storageConfig(sim, storage);
      let size = Math.round(Number(m[3]) * GiB);
      const source = disk['import-from'];
      delete disk['import-from'];
      if (source !== undefined) {
        const src = parseVolumeId(source) ? findVolume(sim, node, source) : undefined;
        if (!parseVolumeId(source)) throw new Error(`cannot import from '${source}' - could not get file size of ${source}`);
        if (!src) throw new Error(`cannot import from '${source}' - could not get size of ${source}`);
        if (/vm-\d+-cloudinit/.test(source)) throw new Error(`cannot import from '${source}' - cannot import from cloudinit disk`);
        size = src.virtualSize ?? src.size;
        task.log(`importing disk '${source}' to VM ${vmid} ...`);
      }
      if (key === 'efidisk0') size = disk['efitype'] === '4m' ? 528 * 1024 : 128 * 1024;
      if (key === 'tpmstate0') size = 4 * 1024 * 1024;
      const fmt = cfg.type === 'lvmthin' ? 'raw' : (disk['format'] ?? 'raw');
      const vol = await sim.withStorageLock(storage, async () =>
        allocImage(sim, { node, storage, vmid, size, format: fmt, ...(ctx.template ? { name: baseName(sim, node, storage, vmid) } : {}) }),
      );
      allocated.push(vol);
      if (source !== undefined) vol.origin = findVolume(sim, node, source)?.origin ?? source.split(/[:/]/).pop()!;
      if (cfg.type === 'lvmthin') task.log(`  Logical volume "${vol.volname}" created.`);
      else task.log(`Formatting '${cfg.path ?? '/var/lib/vz'}/images/${vol.volname}', fmt=${fmt} size=${size}`);
      if (source !== undefined) {
        task.log(`transferred 0.0 B of ${humanBytes(size)} (0.00%)`);
        task.log(`transferred ${humanBytes(size)} of ${humanBytes(size)} (100.00%)`);
        task.log(`Successfully imported disk as '${key}:${volidOf(vol)}'`);
      }
      disk['file'] = volidOf(vol);
      disk['size'] = formatSize(size);
      delete disk['format'];
      created[key] = printDrive(key, disk);
      task.log(`${key}: successfully created disk '${created[key]}'`);
      continue;
    }
    if (parts) {
      const { parsed } = parseVolid(sim, file);
      if (parsed.vtype !== 'images' && parsed.vtype !== 'iso') throw new Error(`cannot use volume ${file} - content type needs to be 'images' or 'iso'`);
      if (isCloudinitDrive(disk)) {
        const dup = [...ctx.existing, created].map((s) => cloudinitKey(s, key)).find((k) => k !== undefined);
        if (dup) throw new Error(`${key} - cloud-init drive is already attached at '${dup}'`);
      }
      const vol = findVolume(sim, node, file);
      if (!vol) throw new Error(`volume ${file} does not exist`);
      disk['size'] = formatSize(vol.virtualSize ?? vol.size);
    }
    created[key] = printDrive(key, disk);
  }
  return { created, allocated };
}

function baseName(sim: Sim, node: string, storage: string, vmid: number): string {
  const names = new Set(sim.state.volumes.filter((v) => v.node === node && v.storage === storage).map((v) => (v.volname.split('/').pop() ?? '').replace(/\.\w+$/, '')));
  for (let n = 0; ; n++) if (!names.has(`vm-${vmid}-disk-${n}`) && !names.has(`base-${vmid}-disk-${n}`)) return `base-${vmid}-disk-${n}`;
}

/** Volume ids owned by `vmid` referenced anywhere in a VM (config, pending, snapshots). */
export function referencedVolumes(sections: readonly ConfigSection[]): Set<string> {
  const out = new Set<string>();
  for (const s of sections) {
    for (const [k, v] of Object.entries(s)) {
      if (!isDriveKey(k) && !/^unused\d+$/.test(k)) continue;
      const d = parseDrive(k, v);
      if (d && parseVolumeId(d.file)) out.add(d.file);
    }
    if (s['vmstate']) out.add(s['vmstate']);
  }
  return out;
}
