import { LabError, type Diagnostic } from '@lab/core';
import type { BakedImage, Site, SiteImage } from '@lab/intent';
import { buildDigest, imageAddress, imageTag, importFilename, importVolid, templateName } from './naming.js';

/** One template L1 should have: one image version on one node. Derived from lab.yaml alone. */
export interface DesiredTemplate {
  readonly image: string;
  readonly version: string;
  readonly os: SiteImage['os'];
  readonly node: string;
  readonly url: string;
  readonly checksum: { readonly algorithm: 'sha256' | 'sha512'; readonly value: string };
  readonly format: SiteImage['format'];
  /** Where `download-url` puts the file (content `import`). */
  readonly importStorage: string;
  readonly filename: string;
  readonly importVolid: string;
  /** Where the template disk and cloud-init drive live. */
  readonly diskStorage: string;
  readonly name: string;
  readonly tag: string;
  readonly serialConsole: boolean;
  readonly guestAgent: boolean;
  readonly cloudInit: { readonly user: string; readonly packages: readonly string[] };
  /** Digest of everything above that shapes the template besides URL and checksum. */
  readonly build: string;
  /** A baked version (adr/0145): cloned from `base` and converged with the profile instead of downloaded. */
  readonly bake?: DesiredBake;
}

/** What a baked version is made from. */
export interface DesiredBake {
  readonly base: { readonly image: string; readonly version: string; readonly tag: string };
  readonly profile: BakedImage;
}

export interface ImageSelection {
  /** Only these images (`debian-12`) or versions (`debian-12@2026.11.0`); all when empty. */
  readonly only?: readonly string[];
}

function storageOn(site: Site, name: string, node: string): boolean {
  const st = site.storages.find((s) => s.name === name);
  return st !== undefined && (st.nodes === undefined || st.nodes.includes(node));
}

function diskStorageFor(site: Site, image: SiteImage, node: string): string | undefined {
  if (image.diskStorage !== undefined) return image.diskStorage;
  return site.storages.find((s) => s.content.includes('images') && (s.nodes === undefined || s.nodes.includes(node)))?.name;
}

function selected(image: string, version: string, only: readonly string[] | undefined): boolean {
  if (!only || only.length === 0) return true;
  return only.some((o) => o === image || o === `${image}@${version}`);
}

/** A selection plus the bases of the baked images it names: a bake needs its base built first. */
function withBases(site: Site, only: readonly string[] | undefined): readonly string[] | undefined {
  if (!only || only.length === 0) return only;
  const bases = site.images.flatMap((im) => (im.baked && im.versions.some((v) => selected(im.name, v.version, only)) ? [`${im.baked.base.image}@${im.baked.base.version}`] : []));
  return [...only, ...bases];
}

/** Unknown names in `--image` are a usage error, not an empty plan. */
export function checkSelection(site: Site, only: readonly string[] | undefined): void {
  for (const o of only ?? []) {
    const [name, version] = o.split('@') as [string, string | undefined];
    const image = site.images.find((i) => i.name === name);
    if (!image || (version !== undefined && !image.versions.some((v) => v.version === version))) {
      throw new LabError({
        code: 'LAB_L1_IMAGE_UNKNOWN',
        summary: `no image ${o} in the catalogue of lab.yaml`,
        hint: `images: ${site.images.flatMap((i) => i.versions.map((v) => `${i.name}@${v.version}`)).join(', ') || '(none)'}`,
      });
    }
  }
}

/**
 * Every (image, version, node) lab.yaml asks for, plus the diagnostics of what cannot be built
 * (no disk storage on a node, two versions whose tags collide). Pure.
 */
export function desiredTemplates(site: Site, selection: ImageSelection = {}): { templates: DesiredTemplate[]; diagnostics: Diagnostic[] } {
  const templates: DesiredTemplate[] = [];
  const diagnostics: Diagnostic[] = [];
  const tags = new Map<string, string>();
  const only = withBases(site, selection.only);
  // Plain images first: a baked version clones its base, which the same apply may build.
  const ordered = [...site.images.filter((i) => !i.baked), ...site.images.filter((i) => i.baked)];
  for (const image of ordered) {
    const base = image.baked ? site.images.find((i) => i.name === image.baked!.base.image) : undefined;
    const nodes = image.nodes ?? base?.nodes ?? site.nodes.map((n) => n.name);
    for (const v of image.versions) {
      const key = `${image.name}@${v.version}`;
      const tag = imageTag(image.name, v.version);
      const clash = tags.get(tag);
      if (clash !== undefined) {
        diagnostics.push({ severity: 'error', code: 'LAB_L1_TAG_CLASH', summary: `${key} and ${clash} would share the tag ${tag}`, address: imageAddress(image.name, v.version), hint: 'rename one of the versions in lab.yaml' });
        continue;
      }
      tags.set(tag, key);
      if (!selected(image.name, v.version, only)) continue;
      for (const node of nodes) {
        const diskStorage = diskStorageFor(site, image, node);
        if (diskStorage === undefined || !storageOn(site, diskStorage, node) || (!image.baked && !storageOn(site, image.storage, node))) {
          diagnostics.push({
            severity: 'error',
            code: 'LAB_L1_NO_STORAGE',
            summary: `${key} cannot be built on ${node}: ${diskStorage === undefined ? 'no storage with images content' : `storage ${!storageOn(site, image.storage, node) ? image.storage : diskStorage} is not on that node`}`,
            address: imageAddress(image.name, v.version),
            hint: 'set images[].diskStorage, or images[].nodes to the nodes that have the storages',
          });
          continue;
        }
        const filename = importFilename(image.name, v.version, image.format);
        const cloudInit = { user: image.cloudInit.user, packages: [...image.cloudInit.packages] };
        templates.push({
          image: image.name,
          version: v.version,
          os: image.os,
          node,
          url: v.url,
          checksum: { algorithm: v.checksum.algorithm, value: v.checksum.value },
          format: image.format,
          importStorage: image.storage,
          filename,
          importVolid: importVolid(image.storage, filename),
          diskStorage,
          name: templateName(image.name, v.version),
          tag,
          serialConsole: image.serialConsole,
          guestAgent: image.guestAgent,
          cloudInit,
          build: buildDigest({ diskStorage, format: image.format, serial: image.serialConsole, agent: image.guestAgent, user: cloudInit.user, os: image.os, ...(image.baked ? { base: `${image.baked.base.image}@${image.baked.base.version}` } : {}) }),
          ...(image.baked ? { bake: { base: { ...image.baked.base, tag: imageTag(image.baked.base.image, image.baked.base.version) }, profile: image.baked } } : {}),
        });
      }
    }
  }
  return { templates, diagnostics };
}

/** `sha512:<hex>` as recorded in descriptions and manifests. */
export function checksumText(t: Pick<DesiredTemplate, 'checksum'>): string {
  return `${t.checksum.algorithm}:${t.checksum.value}`;
}
