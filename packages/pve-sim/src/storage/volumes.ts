import { rm } from 'node:fs/promises';
import type { Sim } from '../engine/sim.js';
import type { ContentType, StorageConfig, VolumeRecord } from '../state/model.js';
import { fail } from '../http/_errors.js';
import { parseVolname, parseVolumeId, subdirFor, type ParsedVolname } from './volname.js';
import { removeArchiveDisks, removeData } from './volume-data.js';

/** `storage_config`: the storage or PVE's error. */
export function storageConfig(sim: Sim, storage: string): StorageConfig {
  const cfg = sim.state.storage[storage];
  if (!cfg) fail(`storage '${storage}' does not exist`);
  return cfg;
}

export function storageAvailableOn(cfg: StorageConfig, node: string): boolean {
  return !cfg.disable && (!cfg.nodes || cfg.nodes.includes(node));
}

export function volid(v: Pick<VolumeRecord, 'storage' | 'volname'>): string {
  return `${v.storage}:${v.volname}`;
}

export function findVolume(sim: Sim, node: string, id: string): VolumeRecord | undefined {
  const parts = parseVolumeId(id);
  if (!parts) return undefined;
  const shared = sim.state.storage[parts.storage]?.shared;
  return sim.state.volumes.find((v) => v.storage === parts.storage && v.volname === parts.volname && (shared || v.node === node));
}

/** Parse a volume id against its storage's type; PVE's error when it cannot. */
export function parseVolid(sim: Sim, id: string): { storage: string; volname: string; cfg: StorageConfig; parsed: ParsedVolname } {
  const parts = parseVolumeId(id);
  if (!parts) fail(`unable to parse volume ID '${id}'`);
  const cfg = storageConfig(sim, parts.storage);
  return { ...parts, cfg, parsed: parseVolname(cfg.type, parts.volname) };
}

export function usedBytes(sim: Sim, node: string, storage: string): number {
  let sum = 0;
  for (const v of sim.state.volumes) if (v.storage === storage && v.node === node) sum += v.size;
  return sum;
}

/** Relative path (below the state dir) of a volume's real bytes. */
export function volumeFile(node: string, storage: string, vtype: ContentType, name: string): string {
  return ['files', node, storage, subdirFor(vtype), name].join('/');
}

export function addVolume(sim: Sim, v: VolumeRecord): VolumeRecord {
  sim.state.volumes.push(v);
  return v;
}

export async function removeVolume(sim: Sim, node: string, id: string): Promise<boolean> {
  const v = findVolume(sim, node, id);
  if (!v) return false;
  sim.state.volumes = sim.state.volumes.filter((x) => x !== v);
  if (v.file) await rm(sim.store.resolve(v.file), { force: true });
  if (v.file && v.content === 'backup') await removeArchiveDisks(sim.store.resolve(v.file));
  if (v.content === 'images') await removeData(sim, v);
  return true;
}

function diskNames(sim: Sim, node: string, storage: string, vmid: number): Set<string> {
  const names = new Set<string>();
  for (const v of sim.state.volumes) {
    if (v.storage !== storage || v.node !== node) continue;
    const base = v.volname.split('/').pop() ?? v.volname;
    names.add(base.replace(/\.(raw|qcow2|vmdk)$/, ''));
  }
  void vmid;
  return names;
}

/** `find_free_diskname`: lowest N with no `vm-<id>-disk-N` and no `base-<id>-disk-N`. */
export function freeDiskName(sim: Sim, node: string, storage: string, vmid: number): string {
  const names = diskNames(sim, node, storage, vmid);
  for (let n = 0; ; n++) {
    if (!names.has(`vm-${vmid}-disk-${n}`) && !names.has(`base-${vmid}-disk-${n}`)) return `vm-${vmid}-disk-${n}`;
  }
}

/** The default image format of a storage: raw everywhere in the simulator. */
export function defaultFormat(_cfg: StorageConfig): string {
  return 'raw';
}

export interface AllocOptions {
  readonly node: string;
  readonly storage: string;
  readonly vmid: number;
  readonly size: number;
  readonly format?: string;
  /** Explicit name (`vm-100-cloudinit`); else the next free `vm-<id>-disk-N`. */
  readonly name?: string;
  readonly parent?: string;
  /** Dir-storage linked clones live below their base: `9000/base-9000-disk-0.qcow2/`. */
  readonly volnamePrefix?: string;
}

/** `vdisk_alloc`: a new image volume record, named the way PVE names it on that storage type. */
export function allocImage(sim: Sim, o: AllocOptions): VolumeRecord {
  const cfg = storageConfig(sim, o.storage);
  const fmt = cfg.type === 'lvmthin' ? 'raw' : (o.format ?? defaultFormat(cfg));
  const name = o.name ?? freeDiskName(sim, o.node, o.storage, o.vmid);
  const volname = cfg.type === 'lvmthin' ? name : `${o.volnamePrefix ?? ''}${o.vmid}/${name}.${fmt}`;
  if (findVolume(sim, o.node, `${o.storage}:${volname}`)) fail(`disk image '${volname}' already exists`);
  return addVolume(sim, {
    node: o.node,
    storage: o.storage,
    volname,
    content: 'images',
    format: fmt,
    size: o.size,
    ctime: sim.nowS(),
    vmid: o.vmid,
    ...(o.parent ? { parent: o.parent } : {}),
  });
}

/** Whether `feature` is available for a volume, per the storage plugin's feature table. */
export function volumeHasFeature(cfg: StorageConfig, parsed: ParsedVolname, feature: 'snapshot' | 'clone' | 'template' | 'copy', snap: boolean): boolean {
  if (cfg.type === 'lvmthin') {
    if (feature === 'snapshot') return !parsed.isBase;
    if (feature === 'clone') return parsed.isBase || snap;
    if (feature === 'template') return !parsed.isBase;
    return true;
  }
  const fmt = parsed.format ?? 'raw';
  if (feature === 'snapshot') return fmt === 'qcow2';
  if (feature === 'clone') return parsed.isBase && ['qcow2', 'raw', 'vmdk'].includes(fmt);
  if (feature === 'template') return !parsed.isBase;
  return true;
}
