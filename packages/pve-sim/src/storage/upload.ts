import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { ContentType } from '../state/model.js';
import { addVolume, findVolume, volumeFile } from './volumes.js';
import { imageInfo } from './image-info.js';
import { subdirFor } from './volname.js';

/** Keep an uploaded file where the upload task will find it; returns PVE's tmp name. */
export async function stashUpload(sim: Sim, data: Buffer): Promise<string> {
  const name = `/var/tmp/pveupload-${sim.rng.bytes(16).toString('hex')}`;
  const abs = sim.store.resolve('tmp', path.basename(name));
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, data);
  return name;
}

export function uploadedFile(sim: Sim, tmpfilename: string): string {
  return sim.store.resolve('tmp', path.basename(tmpfilename));
}

export interface UploadImport {
  readonly node: string;
  readonly storage: string;
  readonly root: string;
  readonly content: ContentType;
  readonly filename: string;
  readonly tmpfilename: string;
  readonly checksum?: { readonly algorithm: string; readonly value: string };
  readonly imageFormat?: string;
}

/** The `imgcopy` task: verify, then move the upload into the storage (overwriting like PVE). */
export async function importUpload(sim: Sim, task: TaskHandle, u: UploadImport): Promise<void> {
  const tmp = uploadedFile(sim, u.tmpfilename);
  task.log(`starting file import from: ${u.tmpfilename}`);
  try {
    if (u.checksum) {
      const h = createHash(u.checksum.algorithm);
      await pipeline(createReadStream(tmp), h);
      const got = h.digest('hex');
      if (got.toLowerCase() !== u.checksum.value.toLowerCase()) {
        task.log('calculating checksum...');
        throw new Error(`checksum mismatch: got '${got}' != expect '${u.checksum.value}'`);
      }
      task.log('calculating checksum...OK, checksum verified');
    }
    let virtualSize: number | undefined;
    if (u.imageFormat) {
      const info = await imageInfo(tmp, u.imageFormat);
      if (info.backingFile) throw new Error(`image '${tmp}' has a backing file - not allowed for untrusted images`);
      virtualSize = info.virtualSize;
    }
    const rel = volumeFile(u.node, u.storage, u.content, u.filename);
    const dest = `${u.root}/${subdirFor(u.content)}/${u.filename}`;
    const size = (await stat(tmp)).size;
    task.log(`target node: ${u.node}`);
    task.log(`target file: ${dest}`);
    task.log(`file size is: ${size}`);
    task.log(`command: cp -- ${u.tmpfilename} ${dest}`);
    await mkdir(path.dirname(sim.store.resolve(rel)), { recursive: true });
    await rename(tmp, sim.store.resolve(rel));
    const volname = `${u.content}/${u.filename}`;
    const existing = findVolume(sim, u.node, `${u.storage}:${volname}`);
    if (existing) sim.state.volumes = sim.state.volumes.filter((v) => v !== existing);
    addVolume(sim, {
      node: u.node,
      storage: u.storage,
      volname,
      content: u.content,
      format: u.content === 'iso' ? 'iso' : u.content === 'vztmpl' ? 'tgz' : (u.imageFormat ?? 'ova'),
      size,
      ctime: sim.nowS(),
      file: rel,
      ...(virtualSize !== undefined ? { virtualSize } : {}),
    });
    task.log('finished file import successfully');
  } finally {
    await rm(tmp, { force: true });
  }
}
