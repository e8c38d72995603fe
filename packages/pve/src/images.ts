import path from 'node:path';

/**
 * The image contract shared by L1 (which builds templates), capture (which makes templates of a
 * persona's VM), L2 (which clones them) and `lab adopt`: how a version's template is named and
 * tagged on the cluster (adr/0081) and the manifest format committed to Git (adr/0082). One home
 * so the writers and the readers cannot drift apart (adr/0141).
 */

/** Every template and every VM cloned from one carries `lab-image-<image>-<version>`. */
export const IMAGE_TAG_PREFIX = 'lab-image-';

/** `debian-12` + `2026.11.0` → `lab-image-debian-12-2026.11.0`: on the template and on every VM cloned from it. */
export function imageTag(image: string, version: string): string {
  return `${IMAGE_TAG_PREFIX}${image}-${version}`.toLowerCase();
}

/** A DNS-safe template name: `tpl-debian-12-2026.11.0`; `_` and runs of separators are folded. */
export function templateName(image: string, version: string): string {
  const raw = `tpl-${image}-${version}`.replace(/_/g, '-');
  return raw
    .split('.')
    .map((label) => label.replace(/-+/g, '-').replace(/^-|-$/g, ''))
    .filter((label) => label !== '')
    .join('.');
}

/** Where manifests live in the lab repository. */
export const IMAGES_DIR = 'artifacts/images';
/** The manifest format version L1 and capture write and read. */
export const MANIFEST_FORMAT = 1;

/** `artifacts/images/<image>/<version>.json` */
export function manifestFile(image: string, version: string): string {
  return path.posix.join(IMAGES_DIR, image, `${version}.json`);
}

export interface ManifestTemplate {
  readonly node: string;
  readonly vmid: number;
  readonly name: string;
  /** Storage of the template disk. */
  readonly storage: string;
  /** Empty for a captured template: it was never imported from a file. */
  readonly importVolume: string;
  /** ISO time the template was created (from its `meta: ctime`). */
  readonly createdAt: string;
}

/** One built (or captured) image version, as committed to Git. */
export interface ImageManifest {
  readonly formatVersion: typeof MANIFEST_FORMAT;
  readonly image: string;
  readonly version: string;
  readonly os: string;
  readonly source: {
    readonly url: string;
    readonly checksum: { readonly algorithm: 'sha256' | 'sha512'; readonly value: string };
    readonly format: string;
  };
  readonly tag: string;
  readonly serialConsole: boolean;
  readonly guestAgent: boolean;
  /** cloud-init defaults L2/L3 apply to clones (the user and the first-boot packages). */
  readonly cloudInit: { readonly user: string; readonly packages: readonly string[] };
  /** One template per node, sorted by node. */
  readonly templates: readonly ManifestTemplate[];
  /** lab version that wrote the manifest last. */
  readonly labVersion: string;
  /** A baked version (adr/0145): its base, its profile and what the bake installed. */
  readonly bake?: ManifestBake;
}

export interface ManifestBake {
  readonly base: { readonly image: string; readonly version: string };
  /** sha256 of the resolved profile (OS spec with mixins and the files it reads). */
  readonly profileHash: string;
  /** Mixin files the profile was composed from. */
  readonly mixins: readonly string[];
  /** `dpkg-query -W` of the bake VM before it was cleaned: `name version`, sorted. */
  readonly packages: readonly string[];
  /** Operations the converge changed (addresses), and how many were already in place. */
  readonly converge: { readonly changed: number; readonly unchanged: number };
  /** Set when a records-only simulator (no guests) made the template: cloned, never converged. */
  readonly recordsOnly?: boolean;
}
