import { LabError } from '@lab/core';
import type { Site } from '@lab/intent';
import { CHANNELS, findManifest, type Channel, type ImageCatalog, type ImageManifest, type ManifestTemplate } from './manifest.js';
import { imageTag, templateName } from './naming.js';

/** What L2 clones for `image@stable` / `image@canary` / `image@<version>`. */
export interface ResolvedImage {
  readonly image: string;
  readonly version: string;
  /** The channel the reference named, when it named one. */
  readonly channel?: Channel;
  readonly os: string;
  /** Tag every clone carries (`lab-image-<image>-<version>`); `lab image list`/`prune` count users by it. */
  readonly tag: string;
  readonly templateName: string;
  /** One template per node; a clone on node N uses N's template (linked clones need the same storage). */
  readonly templates: readonly ManifestTemplate[];
  readonly nodes: readonly string[];
  readonly cloudInit: ImageManifest['cloudInit'];
  readonly serialConsole: boolean;
  readonly guestAgent: boolean;
  readonly manifest: ImageManifest;
}

export type ImageRefInput = string | { readonly name: string; readonly version: string };

function parseRef(ref: ImageRefInput): { name: string; version: string } {
  if (typeof ref !== 'string') return { name: ref.name, version: ref.version };
  const at = ref.lastIndexOf('@');
  return at < 0 ? { name: ref, version: 'stable' } : { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/**
 * The version a channel points at: `artifacts/images/<image>/channels.json` once promoted, else
 * (stable only) `stable:` of lab.yaml — the pointer a fresh lab starts from.
 */
export function channelVersion(site: Site, catalog: ImageCatalog, image: string, channel: Channel): string | undefined {
  const pointer = catalog.channels[image]?.channels[channel];
  if (pointer) return pointer.version;
  return channel === 'stable' ? site.images.find((i) => i.name === image)?.stable : undefined;
}

/**
 * Resolve an image reference to the built templates. Pure: reads lab.yaml and the manifests
 * (`loadImageCatalog`), not the cluster; L2 may confirm the VMID on the cluster by `tag`.
 * Throws `LAB_L1_IMAGE_UNKNOWN`, `LAB_L1_CHANNEL_EMPTY` or `LAB_L1_IMAGE_NOT_BUILT`.
 */
export function resolveImage(site: Site, catalog: ImageCatalog, ref: ImageRefInput): ResolvedImage {
  const { name, version: wanted } = parseRef(ref);
  const entry = site.images.find((i) => i.name === name);
  if (!entry) {
    throw new LabError({ code: 'LAB_L1_IMAGE_UNKNOWN', summary: `no image "${name}" in the catalogue of lab.yaml`, hint: `images: ${site.images.map((i) => i.name).join(', ') || '(none)'}` });
  }
  const channel = isChannel(wanted) ? wanted : undefined;
  const version = channel ? channelVersion(site, catalog, name, channel) : wanted;
  if (version === undefined) {
    throw new LabError({ code: 'LAB_L1_CHANNEL_EMPTY', summary: `channel ${wanted} of ${name} points at no version`, hint: `lab image promote ${name} <version> --channel ${wanted}` });
  }
  const manifest = findManifest(catalog, name, version);
  if (!manifest || manifest.templates.length === 0) {
    const declared = entry.versions.some((v) => v.version === version);
    throw new LabError({
      code: declared ? 'LAB_L1_IMAGE_NOT_BUILT' : 'LAB_L1_IMAGE_UNKNOWN',
      summary: declared ? `image ${name}@${version} has no template yet` : `image ${name} has no version "${version}"`,
      hint: declared ? `build it: lab apply --layer l1 --image ${name}@${version}` : `versions: ${entry.versions.map((v) => v.version).join(', ')}`,
    });
  }
  return {
    image: name,
    version,
    ...(channel ? { channel } : {}),
    os: manifest.os,
    tag: imageTag(name, version),
    templateName: templateName(name, version),
    templates: manifest.templates,
    nodes: manifest.templates.map((t) => t.node),
    cloudInit: manifest.cloudInit,
    serialConsole: manifest.serialConsole,
    guestAgent: manifest.guestAgent,
    manifest,
  };
}

/** The template of a resolved image on one node, or undefined when the image is not there. */
export function templateOn(resolved: ResolvedImage, node: string): ManifestTemplate | undefined {
  return resolved.templates.find((t) => t.node === node);
}
