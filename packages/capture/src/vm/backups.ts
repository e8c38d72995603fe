import { LabError } from '@lab/core';
import { isPveError, listStorageContent, readStorageStatus, pveBool, pveInt, pveList, pveRecord, pveString, type PveClient } from '@lab/pve';
import { parseBackupNotes, type LabBackupNotes } from './notes.js';

/** One vzdump archive as `storage/content` lists it. */
export interface BackupArchive {
  /** `local:backup/vzdump-qemu-120-2025_06_01-02_00_00.vma.zst` */
  readonly volid: string;
  /** The node whose storage holds it (the one restore must run on for a local storage). */
  readonly node: string;
  readonly storage: string;
  /** The VM the archive was taken of. */
  readonly vmid: number;
  /** Backup start, epoch seconds. */
  readonly ctime: number;
  readonly size: number;
  /** `vma.zst`, `vma.gz`, `vma.lzo`, `vma`. */
  readonly format: string;
  /** First line of the notes. */
  readonly notes?: string;
  readonly protected: boolean;
  /** lab's marker in the notes: present only on archives lab made. */
  readonly lab?: LabBackupNotes;
}

/** A storage as one node sees it. */
export interface BackupStorage {
  readonly name: string;
  readonly node: string;
  readonly type: string;
  readonly content: readonly string[];
  readonly active: boolean;
  readonly shared: boolean;
}

/** Newest first; equal times by volid, so the order is total and stable. */
export function newestFirst(a: BackupArchive, b: BackupArchive): number {
  return b.ctime - a.ctime || (a.volid < b.volid ? 1 : a.volid > b.volid ? -1 : 0);
}

export function parseBackupRow(row: unknown, node: string, storage: string): BackupArchive | undefined {
  const r = pveRecord(row);
  const volid = pveString(r['volid']);
  if (!volid || pveString(r['content']) !== 'backup') return undefined;
  // Container backups share the storage; a VM restore cannot use them.
  const subtype = pveString(r['subtype']);
  if (subtype !== undefined && subtype !== 'qemu') return undefined;
  const vmid = pveInt(r['vmid']) ?? pveInt(/vzdump-qemu-(\d+)-/.exec(volid)?.[1]);
  if (vmid === undefined) return undefined;
  const notes = pveString(r['notes']);
  const lab = parseBackupNotes(notes);
  return {
    volid,
    node,
    storage,
    vmid,
    ctime: pveInt(r['ctime']) ?? 0,
    size: pveInt(r['size']) ?? 0,
    format: pveString(r['format']) ?? '',
    ...(notes !== undefined ? { notes } : {}),
    protected: pveBool(r['protected']) === true,
    ...(lab ? { lab } : {}),
  };
}

/** `GET /nodes/{node}/storage/{storage}/status`, or undefined when the node does not have it. */
export async function readBackupStorage(client: PveClient, node: string, storage: string): Promise<BackupStorage | undefined> {
  try {
    const r = await readStorageStatus(client, node, storage);
    return { name: storage, node, type: pveString(r['type']) ?? '', content: pveList(r['content']), active: pveBool(r['active']) === true, shared: pveBool(r['shared']) === true };
  } catch (err) {
    if (isPveError(err) && (err.code === 'LAB_PVE_INVALID' || err.code === 'LAB_PVE_NOT_FOUND' || err.code === 'LAB_PVE_API')) return undefined;
    throw err;
  }
}

export interface ListBackupsOptions {
  readonly storage: string;
  /** Nodes to look on; a shared storage is read once. */
  readonly nodes: readonly string[];
  /** Archives of this VM… */
  readonly vmid?: number;
  /** …or whose notes name this persona (archives of an earlier VMID of the persona). */
  readonly persona?: string;
}

/**
 * Every VM archive on `storage` that belongs to the VM or persona asked for, newest first. A
 * node without the storage is skipped; a storage that holds no backups is an error, because
 * asking it for archives is a sign of a wrong `capture.vm.storage`.
 */
export async function listVmBackups(client: PveClient, options: ListBackupsOptions): Promise<BackupArchive[]> {
  const seen = new Map<string, BackupArchive>();
  let found = false;
  for (const node of options.nodes) {
    const st = await readBackupStorage(client, node, options.storage);
    if (!st || !st.active) continue;
    found = true;
    if (!st.content.includes('backup')) {
      throw new LabError({
        code: 'LAB_CAPTURE_VM_STORAGE',
        summary: `storage ${options.storage} on ${node} does not hold backups (content: ${st.content.join(', ') || 'none'})`,
        hint: `add backup to the storage's content in lab.yaml and run \`lab apply --layer l0\`, or point capture.vm.storage at a storage with backup content`,
      });
    }
    const rows = await listStorageContent(client, node, options.storage, { content: 'backup' });
    for (const row of rows) {
      const a = parseBackupRow(row, node, options.storage);
      if (!a || seen.has(a.volid)) continue;
      if (a.vmid === options.vmid || (options.persona !== undefined && a.lab?.persona === options.persona)) seen.set(a.volid, a);
    }
    if (st.shared) break;
  }
  if (!found) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_STORAGE',
      summary: `storage ${options.storage} is not available on ${options.nodes.join(', ') || 'any node'}`,
      hint: 'check the storage name in capture.vm.storage against lab.yaml storages, and that the node is online',
    });
  }
  return [...seen.values()].sort(newestFirst);
}
