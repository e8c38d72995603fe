import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '@lab/core';
import { IMAGES_DIR, MANIFEST_FORMAT, manifestFile, type ImageManifest, type ManifestBake, type ManifestTemplate } from '@lab/pve';

/**
 * Provenance committed to Git: one manifest per built image version, and the channel pointers
 * that promotion moves (adr/0082-l1-manifests-and-channels.md).
 */

export const ARTIFACTS_DIR = IMAGES_DIR;
export { MANIFEST_FORMAT, manifestFile };
export type { ImageManifest, ManifestBake, ManifestTemplate };
export const CHANNELS = ['stable', 'canary'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChannelPointer {
  readonly version: string;
  readonly promotedAt: string;
}

export interface ChannelsFile {
  readonly formatVersion: typeof MANIFEST_FORMAT;
  readonly channels: Readonly<Partial<Record<Channel, ChannelPointer>>>;
}

/** Everything under artifacts/images, read once: the input of `resolveImage` and `lab image list`. */
export interface ImageCatalog {
  readonly manifests: readonly ImageManifest[];
  readonly channels: Readonly<Record<string, ChannelsFile>>;
}

export const EMPTY_CATALOG: ImageCatalog = { manifests: [], channels: {} };

export function channelsFile(image: string): string {
  return path.posix.join(ARTIFACTS_DIR, image, 'channels.json');
}

function invalid(file: string, why: string, cause?: unknown): LabError {
  return new LabError({ code: 'LAB_L1_MANIFEST_INVALID', summary: `${file} is not a valid image manifest: ${why}`, hint: `restore it from Git (\`git checkout -- ${file}\`) or delete it and run \`lab apply --layer l1\``, cause });
}

async function readJson(root: string, rel: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path.join(root, rel), 'utf8'));
  } catch (cause) {
    throw invalid(rel, cause instanceof SyntaxError ? 'not JSON' : String(cause), cause);
  }
}

function checkManifest(rel: string, data: unknown): ImageManifest {
  const m = data as Partial<ImageManifest> | null;
  if (!m || typeof m !== 'object') throw invalid(rel, 'not an object');
  if (m.formatVersion !== MANIFEST_FORMAT) throw invalid(rel, `format ${String(m.formatVersion)}, expected ${MANIFEST_FORMAT}`);
  if (typeof m.image !== 'string' || typeof m.version !== 'string' || !Array.isArray(m.templates) || typeof m.source?.url !== 'string') throw invalid(rel, 'image, version, source or templates missing');
  return m as ImageManifest;
}

function checkChannels(rel: string, data: unknown): ChannelsFile {
  const c = data as Partial<ChannelsFile> | null;
  if (!c || typeof c !== 'object' || c.formatVersion !== MANIFEST_FORMAT || typeof c.channels !== 'object' || c.channels === null) throw invalid(rel, 'expected { formatVersion: 1, channels: { … } }');
  return c as ChannelsFile;
}

/** Read every manifest and channels file of the lab at `root` (none yet is an empty catalogue). */
export async function loadImageCatalog(root: string): Promise<ImageCatalog> {
  const base = path.join(root, ARTIFACTS_DIR);
  let images: string[];
  try {
    images = (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return EMPTY_CATALOG;
  }
  const manifests: ImageManifest[] = [];
  const channels: Record<string, ChannelsFile> = {};
  for (const image of images) {
    const files = (await readdir(path.join(base, image))).filter((f) => f.endsWith('.json')).sort();
    for (const f of files) {
      const rel = path.posix.join(ARTIFACTS_DIR, image, f);
      const data = await readJson(root, rel);
      if (f === 'channels.json') channels[image] = checkChannels(rel, data);
      else manifests.push(checkManifest(rel, data));
    }
  }
  return { manifests, channels };
}

export function findManifest(catalog: ImageCatalog, image: string, version: string): ImageManifest | undefined {
  return catalog.manifests.find((m) => m.image === image && m.version === version);
}

async function writeAtomic(root: string, rel: string, data: unknown): Promise<void> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`);
  await rename(tmp, file);
}

export async function writeManifest(root: string, manifest: ImageManifest): Promise<string> {
  const rel = manifestFile(manifest.image, manifest.version);
  const templates = [...manifest.templates].sort((a, b) => a.node.localeCompare(b.node));
  await writeAtomic(root, rel, { ...manifest, templates });
  return rel;
}

export async function removeManifest(root: string, image: string, version: string): Promise<void> {
  await rm(path.join(root, manifestFile(image, version)), { force: true });
}

export async function writeChannels(root: string, image: string, channels: ChannelsFile): Promise<string> {
  const rel = channelsFile(image);
  await writeAtomic(root, rel, channels);
  return rel;
}
