import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { ContentType } from '../state/model.js';
import { addVolume, findVolume, volumeFile } from './volumes.js';
import { imageInfo } from './image-info.js';
import { subdirFor } from './volname.js';
import { markStandIn, sidecarOf, standInContent, standInDigest, type StandInImage } from './stand-in.js';
import { writeFile } from 'node:fs/promises';

function originOf(url: string): string | undefined {
  try {
    return new URL(url).pathname.split('/').pop() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `host` is this machine's loopback; the simulator never downloads from elsewhere. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return net.isIPv4(h) && h.startsWith('127.');
}

export interface DownloadRequest {
  readonly node: string;
  readonly storage: string;
  readonly root: string;
  readonly url: string;
  readonly content: ContentType;
  readonly filename: string;
  readonly checksum?: { readonly algorithm: string; readonly value: string };
  readonly compression?: string;
  /** The image format for `import` content (qcow2/raw/vmdk), or undefined. */
  readonly imageFormat?: string;
}

function get(sim: Sim, url: URL, method: 'GET' | 'HEAD'): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const options: https.RequestOptions = { method, timeout: 30_000 };
    if (url.protocol === 'https:' && sim.options.downloadCa) options.ca = sim.options.downloadCa;
    const req = mod.request(url, options, resolve);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Open `url` for reading, refusing anything that is not loopback. */
export async function openUrl(sim: Sim, raw: string, method: 'GET' | 'HEAD' = 'GET'): Promise<http.IncomingMessage> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`download failed: invalid URL '${raw}'\n`);
  }
  if (!isLoopbackHost(url.hostname)) {
    throw new Error(`download failed: the simulator only downloads from loopback addresses, refusing '${url.hostname}'\n`);
  }
  let res: http.IncomingMessage;
  try {
    res = await get(sim, url, method);
  } catch (err) {
    throw new Error(`download failed: ${(err as Error).message}\n`);
  }
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`download failed: server response: ${res.statusCode} ${res.statusMessage ?? ''}\n`);
  }
  return res;
}

async function fileHash(algorithm: string, file: string): Promise<string> {
  const registered = standInDigest(file, algorithm);
  if (registered !== undefined) return registered;
  const h = createHash(algorithm);
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** `download_file_from_url` with PVE's log lines and existing-file semantics. */
export async function downloadToStorage(sim: Sim, task: TaskHandle, req: DownloadRequest): Promise<void> {
  const rel = volumeFile(req.node, req.storage, req.content, req.filename);
  const abs = sim.store.resolve(rel);
  const dest = `${req.root}/${subdirFor(req.content)}/${req.filename}`;
  const volid = `${req.storage}:${subdirFor(req.content) === 'template/iso' ? 'iso' : req.content}/${req.filename}`;
  task.log(`downloading ${req.url} to ${dest}`);
  const existing = findVolume(sim, req.node, volid);
  if (existing) {
    if (req.checksum) {
      const got = existing.file ? await fileHash(req.checksum.algorithm, sim.store.resolve(existing.file)) : '';
      if (got.toLowerCase() === req.checksum.value.toLowerCase()) {
        task.log('calculating checksum of existing file...OK, got correct file already, no need to download');
        return;
      }
      task.log('calculating checksum of existing file...');
      throw new Error(`checksum mismatch: got '${got}' != expect '${req.checksum.value}', aborting`);
    }
    throw new Error(`refusing to override existing file '${dest}'`);
  }
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp_dwnl.${process.pid}`;
  const standIn = sim.options.standInImages.find((i) => i.url === req.url);
  try {
    if (standIn) {
      await downloadStandIn(task, req, standIn, tmp, abs, dest);
    } else {
      await fetchToTemp(sim, task, req, tmp, dest);
      await rm(sidecarOf(abs), { force: true });
    }
    let final = tmp;
    if (req.compression) {
      if (req.compression !== 'gz') throw new Error(`no decompression method found`);
      const out = `${abs}.tmp_dcom.${process.pid}`;
      task.log(`decompressing ${dest}.tmp_dwnl.${process.pid} to ${dest}.tmp_dcom.${process.pid}`);
      await pipeline(createReadStream(tmp), createGunzip(), createWriteStream(out));
      await rm(tmp, { force: true });
      final = out;
    }
    let virtualSize: number | undefined;
    if (req.imageFormat) {
      try {
        const info = await imageInfo(final, req.imageFormat);
        if (info.backingFile) throw new Error(`image '${final}' has a backing file - not allowed for untrusted images\n`);
        virtualSize = info.virtualSize;
      } catch (err) {
        throw new Error(`failed to verify file: ${(err as Error).message}`);
      }
    }
    await rename(final, abs);
    const size2 = (await stat(abs)).size;
    addVolume(sim, {
      node: req.node,
      storage: req.storage,
      volname: volid.slice(req.storage.length + 1),
      content: req.content,
      format: req.content === 'iso' ? 'iso' : req.content === 'vztmpl' ? 'tgz' : (req.imageFormat ?? 'ova'),
      size: size2,
      ctime: sim.nowS(),
      file: rel,
      ...(virtualSize !== undefined ? { virtualSize } : {}),
      // What the image is, whatever the file was called (a Debian 13 image boots a trixie guest).
      ...(originOf(req.url) ? { origin: originOf(req.url)! } : {}),
    });
    task.log(`download of '${req.url}' to '${dest}' finished`);
  } finally {
    await rm(tmp, { force: true });
    await rm(`${abs}.tmp_dcom.${process.pid}`, { force: true });
  }
}

async function fetchToTemp(sim: Sim, task: TaskHandle, req: DownloadRequest, tmp: string, dest: string): Promise<void> {
  const res = await openUrl(sim, req.url);
  const started = sim.now();
  const length = Number(res.headers['content-length'] ?? 0);
  task.log(`--${new Date(started).toISOString().replace('T', ' ').slice(0, 19)}--  ${req.url}`);
  task.log(`Length: ${length || 'unspecified'} [${res.headers['content-type'] ?? 'application/octet-stream'}]`);
  task.log(`Saving to: '${dest}.tmp_dwnl.${process.pid}'`);
  await pipeline(res, createWriteStream(tmp));
  const size = (await stat(tmp)).size;
  task.log(`'${dest}.tmp_dwnl.${process.pid}' saved [${size}/${length || size}]`);
  if (req.checksum) {
    const got = await fileHash(req.checksum.algorithm, tmp);
    if (got.toLowerCase() !== req.checksum.value.toLowerCase()) {
      task.log('calculating checksum...');
      throw new Error(`checksum mismatch: got '${got}' != expect '${req.checksum.value}'`);
    }
    task.log('calculating checksum...OK, checksum verified');
  }
}

/** A registered stand-in: no network, a generated qcow2 header, the registered digest checked. */
async function downloadStandIn(task: TaskHandle, req: DownloadRequest, image: StandInImage, tmp: string, abs: string, dest: string): Promise<void> {
  task.log(`(simulator) ${req.url} is a registered stand-in image: nothing leaves this machine`);
  const bytes = standInContent(image);
  await writeFile(tmp, bytes);
  task.log(`'${dest}.tmp_dwnl.${process.pid}' saved [${bytes.length}/${bytes.length}]`);
  if (req.checksum) {
    const got = image.checksums[req.checksum.algorithm] ?? '';
    if (got.toLowerCase() !== req.checksum.value.toLowerCase()) {
      task.log('calculating checksum...');
      throw new Error(`checksum mismatch: got '${got}' != expect '${req.checksum.value}'`);
    }
    task.log('calculating checksum...OK, checksum verified');
  }
  await markStandIn(abs, image);
}
