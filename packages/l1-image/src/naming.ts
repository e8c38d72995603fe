import { createHash } from 'node:crypto';
import { address, SITE_SCOPE, type Address } from '@lab/core';

/**
 * How L1 names what it makes, so that L2 and `lab image list` find it on the cluster without
 * any local state (adr/0081-l1-template-naming.md).
 */

/** Templates get the lowest free VMID of this range; L2 allocates its VMs outside it. */
export const TEMPLATE_VMID_RANGE = { min: 9000, max: 9999 } as const;

/** Every VM L1 builds carries this tag; clones must not keep it (L2 replaces the tags). */
export const TEMPLATE_TAG = 'lab-template';

export { imageTag, templateName } from '@lab/pve';

/** The file `download-url` stores on the image storage: `debian-12-2026.11.0.qcow2` (PVE's import filename rules). */
export function importFilename(image: string, version: string, format: string): string {
  return `${image}-${version}.${format}`.replace(/[^a-zA-Z0-9\-.+=_]/g, '_');
}

/** `local:import/debian-12-2026.11.0.qcow2` */
export function importVolid(storage: string, filename: string): string {
  return `${storage}:import/${filename}`;
}

/** `_site/l1/image[debian-12@2026.11.0]` */
export function imageAddress(image: string, version: string): Address {
  return address(SITE_SCOPE, 'l1', 'image', `${image}@${version}`);
}

/** What a template's description records, so a rerun can tell whether it was built from the same source. */
export interface Provenance {
  readonly image: string;
  readonly version: string;
  readonly url: string;
  /** `sha512:<hex>` */
  readonly checksum: string;
  /** Digest of the build settings (disk storage, serial console, agent, cloud-init user, format). */
  readonly build: string;
}

const MARK = 'lab-';
const HEADER = 'Built by lab (layer L1) — do not edit; `lab image list` shows its users.';

export function renderProvenance(p: Provenance): string {
  return [HEADER, `${MARK}image: ${p.image}`, `${MARK}version: ${p.version}`, `${MARK}source: ${p.url}`, `${MARK}checksum: ${p.checksum}`, `${MARK}build: ${p.build}`].join('\n');
}

/** Read the markers back; undefined when the description is not one L1 wrote. */
export function parseProvenance(description: string | undefined): Provenance | undefined {
  if (!description) return undefined;
  const fields = new Map<string, string>();
  for (const line of description.split('\n')) {
    const m = /^lab-(image|version|source|checksum|build): (.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  const get = (k: string): string | undefined => fields.get(k);
  const image = get('image');
  const version = get('version');
  if (image === undefined || version === undefined) return undefined;
  return { image, version, url: get('source') ?? '', checksum: get('checksum') ?? '', build: get('build') ?? '' };
}

/** A short stable digest of build settings. */
export function buildDigest(settings: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(settings).sort();
  const text = JSON.stringify(keys.map((k) => [k, settings[k]]));
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
