import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sim } from '../engine/sim.js';
import { fail } from '../http/_errors.js';
import { addVolume, findVolume, storageConfig, volumeFile } from './volumes.js';

/**
 * Put a snippet file on a dir storage. PVE has no API for this (admins copy files to
 * `/var/lib/vz/snippets`); tests use this hook to prepare `cicustom` volumes.
 */
export async function placeSnippet(sim: Sim, node: string, storage: string, name: string, content: string): Promise<string> {
  const cfg = storageConfig(sim, storage);
  if (cfg.type !== 'dir') fail(`storage '${storage}' is not a file based storage`);
  if (!/^[a-zA-Z0-9_.-]+$/.test(name)) fail(`invalid snippet name '${name}'`);
  const rel = volumeFile(node, storage, 'snippets', name);
  const abs = sim.store.resolve(rel);
  await mkdir(path.dirname(abs), { recursive: true });
  // Snippets carry cloud-init user data, which may hold a guest's private host key: owner-only,
  // as on a PVE node where /var/lib/vz is root's. chmod too: writeFile's mode applies only on create.
  await writeFile(abs, content, { mode: 0o600 });
  await chmod(abs, 0o600);
  const id = `${storage}:snippets/${name}`;
  const existing = findVolume(sim, node, id);
  if (existing) {
    existing.size = Buffer.byteLength(content);
    existing.ctime = sim.nowS();
  } else {
    addVolume(sim, { node, storage, volname: `snippets/${name}`, content: 'snippets', format: 'snippet', size: Buffer.byteLength(content), ctime: sim.nowS(), file: rel });
  }
  return id;
}
