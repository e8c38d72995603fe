import type { ContentType, StorageType } from '../state/model.js';

export const ISO_EXT_RE = /\.(?:iso|img)$/i;
export const VZTMPL_EXT_RE = /\.tar\.(?:gz|xz|zst|bz2)$/i;
export const BACKUP_EXT_RE = /\.(tgz|(?:(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2|xz))?))$/;
export const IMPORT_EXT_RE = /\.(ova|ovf|qcow2|raw|vmdk)$/;

export interface ParsedVolname {
  readonly vtype: ContentType;
  /** File or LV name (`vm-100-disk-0`, `x.iso`). */
  readonly name: string;
  /** Owner vmid for images and backups. */
  readonly vmid?: number;
  /** Base volume name of a linked clone on dir storage. */
  readonly baseName?: string;
  readonly baseVmid?: number;
  readonly isBase: boolean;
  readonly format?: string;
}

/** Split `store:volname`; undefined for paths and keywords (`none`, `cdrom`, `/dev/…`). */
export function parseVolumeId(volid: string): { storage: string; volname: string } | undefined {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  return m ? { storage: m[1]!, volname: m[2]! } : undefined;
}

function imageFormat(name: string): string | undefined {
  return /\.(raw|qcow2|vmdk|subvol)$/.exec(name)?.[1];
}

/** PVE's `parse_volname` for the two storage types the simulator offers. */
export function parseVolname(type: StorageType, volname: string): ParsedVolname {
  if (type === 'lvmthin') {
    const m = /^((vm|base)-(\d+)-\S+)$/.exec(volname);
    if (!m) throw new Error(`unable to parse lvm volume name '${volname}'\n`);
    return { vtype: 'images', name: m[1]!, vmid: Number(m[3]), isBase: m[2] === 'base', format: 'raw' };
  }
  let m = /^(\d+)\/([^/\s]+)\/(\d+)\/([^/\s]+)$/.exec(volname);
  if (m && /^base-/.test(m[2]!)) {
    const fmt = imageFormat(m[4]!);
    if (fmt) return { vtype: 'images', name: m[4]!, vmid: Number(m[3]), baseName: m[2]!, baseVmid: Number(m[1]), isBase: false, format: fmt };
  }
  m = /^(\d+)\/((base|vm)-\d+-[^/\s]+)$/.exec(volname);
  if (m) {
    const fmt = imageFormat(m[2]!);
    if (fmt) return { vtype: 'images', name: m[2]!, vmid: Number(m[1]), isBase: m[3] === 'base', format: fmt };
  }
  m = /^iso\/([^/]+)$/.exec(volname);
  if (m && ISO_EXT_RE.test(m[1]!)) return { vtype: 'iso', name: m[1]!, isBase: false, format: 'iso' };
  m = /^vztmpl\/([^/]+)$/.exec(volname);
  if (m && VZTMPL_EXT_RE.test(m[1]!)) return { vtype: 'vztmpl', name: m[1]!, isBase: false, format: 'tgz' };
  m = /^backup\/([^/]+)$/.exec(volname);
  if (m && BACKUP_EXT_RE.test(m[1]!)) {
    const vmid = /^vzdump-(?:qemu|lxc|openvz)-(\d+)-/.exec(m[1]!)?.[1];
    const fmt = BACKUP_EXT_RE.exec(m[1]!)?.[1];
    return { vtype: 'backup', name: m[1]!, ...(vmid ? { vmid: Number(vmid) } : {}), isBase: false, ...(fmt ? { format: fmt } : {}) };
  }
  m = /^snippets\/([^/]+)$/.exec(volname);
  if (m) return { vtype: 'snippets', name: m[1]!, isBase: false, format: 'snippet' };
  m = /^import\/([^/]+)$/.exec(volname);
  if (m && IMPORT_EXT_RE.test(m[1]!)) return { vtype: 'import', name: m[1]!, isBase: false, format: IMPORT_EXT_RE.exec(m[1]!)?.[1] ?? 'raw' };
  throw new Error(`unable to parse directory volume name '${volname}'\n`);
}

/** Directory below the storage root for a content type (PVE's `get_subdir`). */
export function subdirFor(vtype: ContentType): string {
  switch (vtype) {
    case 'images':
      return 'images';
    case 'rootdir':
      return 'private';
    case 'iso':
      return 'template/iso';
    case 'vztmpl':
      return 'template/cache';
    case 'backup':
      return 'dump';
    case 'snippets':
      return 'snippets';
    case 'import':
      return 'import';
  }
}

/** Where the volume would live on a real node (for log lines and error texts). */
export function volumePath(type: StorageType, root: string | undefined, vgname: string | undefined, volname: string): string {
  if (type === 'lvmthin') return `/dev/${vgname ?? 'pve'}/${volname}`;
  const parsed = parseVolname(type, volname);
  const base = root ?? '/var/lib/vz';
  if (parsed.vtype === 'images') return `${base}/images/${volname}`;
  return `${base}/${subdirFor(parsed.vtype)}/${parsed.name}`;
}
