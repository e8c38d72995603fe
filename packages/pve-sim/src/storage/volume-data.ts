import { execFile } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Sim } from '../engine/sim.js';
import type { VolumeRecord } from '../state/model.js';
import { subdirFor } from './volname.js';

/**
 * The real bytes of a data disk (adr/0175). A VM's boot disk is its guest container's root
 * filesystem; every other disk image the guest gets is a sparse raw file below the state dir,
 * at the path the volume would have on a dir storage (`files/<node>/<storage>/images/<volname>`).
 * The guest sees it as a block device (a loop device, see guests/_disks.ts), formats and mounts
 * it itself. The file is made on the first boot that attaches the volume and lives exactly as
 * long as the volume record: destroying a VM keeps the volumes it does not own (L2's
 * persistent disks), deleting the volume deletes the bytes. Snapshots are sparse copies beside
 * the file (`<file>@<snapshot>`), as a qcow2 keeps its internal snapshots inside the image.
 */

const run = promisify(execFile);

/** Absolute path of a volume's data file (which may not exist yet). */
export function dataFile(sim: Sim, vol: Pick<VolumeRecord, 'node' | 'storage' | 'volname'>): string {
  return sim.store.resolve('files', vol.node, vol.storage, subdirFor('images'), vol.volname.replace(/\//g, '__'));
}

function snapshotFile(file: string, snapname: string): string {
  return `${file}@${snapname}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Make the data file (sparse, `size` bytes) or grow it to `size`; never shrinks, never clears. */
export async function ensureDataFile(sim: Sim, vol: VolumeRecord): Promise<string> {
  const file = dataFile(sim, vol);
  await mkdir(dirname(file), { recursive: true });
  const handle = await open(file, 'a');
  try {
    const { size } = await handle.stat();
    if (size < vol.size) await handle.truncate(vol.size);
  } finally {
    await handle.close();
  }
  return file;
}

/** A sparse copy (reflink where the filesystem can), as `qemu-img convert` keeps holes. */
async function sparseCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await run('cp', ['--sparse=always', '--reflink=auto', '--', from, to], { timeout: 600_000 });
}

/** Snapshot the volume's bytes under `snapname` (nothing to keep for a never-written disk). */
export async function snapshotData(sim: Sim, vol: VolumeRecord, snapname: string): Promise<void> {
  const file = dataFile(sim, vol);
  if (await exists(file)) await sparseCopy(file, snapshotFile(file, snapname));
}

/** Put the snapshot's bytes back (a snapshot taken before the first write means an empty disk). */
export async function rollbackData(sim: Sim, vol: VolumeRecord, snapname: string): Promise<void> {
  const file = dataFile(sim, vol);
  const snap = snapshotFile(file, snapname);
  if (await exists(snap)) await sparseCopy(snap, file);
  else await rm(file, { force: true });
}

export async function deleteSnapshotData(sim: Sim, vol: VolumeRecord, snapname: string): Promise<void> {
  await rm(snapshotFile(dataFile(sim, vol), snapname), { force: true });
}

/** Copy a volume's bytes (as of `snapname` when given) to another volume: full clone, restore. */
export async function copyData(sim: Sim, from: VolumeRecord, to: VolumeRecord, snapname?: string): Promise<boolean> {
  const src = snapname ? snapshotFile(dataFile(sim, from), snapname) : dataFile(sim, from);
  if (!(await exists(src))) return false;
  await sparseCopy(src, dataFile(sim, to));
  return true;
}

/** Copy a file's bytes into a volume (vzdump restore); false when there is no such file. */
export async function importData(sim: Sim, file: string, to: VolumeRecord): Promise<boolean> {
  if (!(await exists(file))) return false;
  await sparseCopy(file, dataFile(sim, to));
  return true;
}

/** The volume's data file if it exists (vzdump reads it). */
export async function existingDataFile(sim: Sim, vol: VolumeRecord): Promise<string | undefined> {
  const file = dataFile(sim, vol);
  return (await exists(file)) ? file : undefined;
}

/** Free a volume's bytes and every snapshot of them. */
export async function removeData(sim: Sim, vol: Pick<VolumeRecord, 'node' | 'storage' | 'volname'>): Promise<void> {
  const file = dataFile(sim, vol);
  const dir = dirname(file);
  const name = basename(file);
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(entries.filter((e) => e === name || e.startsWith(`${name}@`)).map((e) => rm(join(dir, e), { force: true })));
}

/** Where a vzdump archive keeps a data disk's bytes: `<archive>.disks/<drive key>.raw`. */
export function archiveDiskFile(archive: string, key: string): string {
  return join(`${archive}.disks`, `${key}.raw`);
}

export async function archiveDisk(from: string, to: string): Promise<void> {
  await sparseCopy(from, to);
}

/** Free the disk bytes kept beside a backup archive. */
export async function removeArchiveDisks(archive: string): Promise<void> {
  await rm(`${archive}.disks`, { recursive: true, force: true });
}

/** A volume renamed in place (template: `vm-` → `base-`) keeps its bytes. */
export function renameDataSync(sim: Sim, vol: VolumeRecord, volname: string): void {
  const from = dataFile(sim, vol);
  if (existsSync(from)) renameSync(from, dataFile(sim, { ...vol, volname }));
}
