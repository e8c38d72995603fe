import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { qcow2Header } from './qcow2.js';

/**
 * A cloud image the simulator pretends to download (pve-api.md §10: "a registry mapping URL →
 * size, virtual size, checksum for fake images"). The simulator reaches no network but
 * loopback, so an embedded lab whose catalogue names public image URLs registers them here:
 * `download-url` then writes a small qcow2 header of the given virtual size and checks the
 * requested checksum against the registered one (same wording as PVE on a mismatch).
 */
export interface StandInImage {
  readonly url: string;
  /** Registered digests by algorithm (`sha256`, `sha512`, …), lower-case hex. */
  readonly checksums: Readonly<Record<string, string>>;
  /** Disk size the image claims, in bytes. Default 2 GiB, like Debian's genericcloud image. */
  readonly virtualSize?: number;
}

export const DEFAULT_STAND_IN_SIZE = 2 * 1024 ** 3;

/** The bytes of a stand-in: a valid qcow2 v3 header, no data clusters. */
export function standInContent(image: StandInImage): Buffer {
  return qcow2Header(image.virtualSize ?? DEFAULT_STAND_IN_SIZE, { label: `lab-pve-sim stand-in for ${image.url}` });
}

const sidecar = (file: string) => `${file}.stand-in.json`;

/** Remember which stand-in a stored file is, so a later checksum check of it answers as the real image would. */
export async function markStandIn(file: string, image: StandInImage): Promise<void> {
  await writeFile(sidecar(file), `${JSON.stringify({ url: image.url, checksums: image.checksums })}\n`);
}

/** The registered digest of a stored stand-in file, or undefined for a real download. */
export function standInDigest(file: string, algorithm: string): string | undefined {
  if (!existsSync(sidecar(file))) return undefined;
  const data = JSON.parse(readFileSync(sidecar(file), 'utf8')) as { checksums: Record<string, string> };
  return data.checksums[algorithm] ?? '';
}

export function sidecarOf(file: string): string {
  return sidecar(file);
}
