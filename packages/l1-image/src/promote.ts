import { LabError } from '@lab/core';
import type { Site } from '@lab/intent';
import { findManifest, MANIFEST_FORMAT, writeChannels, type Channel, type ChannelsFile, type ImageCatalog } from './manifest.js';
import { channelVersion, isChannel } from './resolve.js';

export interface PromoteResult {
  readonly file: string;
  readonly channel: Channel;
  readonly from?: string;
  readonly to: string;
  readonly changed: boolean;
}

/**
 * Point a channel at a version: writes `artifacts/images/<image>/channels.json` (commit it).
 * Only a declared version with a manifest (= built) can be promoted; personas on
 * `image@<channel>` follow at their next `lab apply --layer l2`.
 */
export async function promoteImage(root: string, site: Site, catalog: ImageCatalog, image: string, version: string, channel: string, now: Date = new Date()): Promise<PromoteResult> {
  if (!isChannel(channel)) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `unknown channel '${channel}'`, hint: 'channels: stable, canary' });
  const entry = site.images.find((i) => i.name === image);
  if (!entry) throw new LabError({ code: 'LAB_L1_IMAGE_UNKNOWN', summary: `no image "${image}" in the catalogue of lab.yaml`, hint: `images: ${site.images.map((i) => i.name).join(', ') || '(none)'}` });
  if (!entry.versions.some((v) => v.version === version)) {
    throw new LabError({ code: 'LAB_L1_IMAGE_UNKNOWN', summary: `image ${image} has no version "${version}" in lab.yaml`, hint: `versions: ${entry.versions.map((v) => v.version).join(', ')}` });
  }
  const manifest = findManifest(catalog, image, version);
  if (!manifest || manifest.templates.length === 0) {
    throw new LabError({ code: 'LAB_L1_IMAGE_NOT_BUILT', summary: `${image}@${version} has no template yet; only built versions can be promoted`, hint: `lab apply --layer l1 --image ${image}@${version}` });
  }
  const from = channelVersion(site, catalog, image, channel);
  const current: ChannelsFile = catalog.channels[image] ?? { formatVersion: MANIFEST_FORMAT, channels: {} };
  const already = current.channels[channel]?.version === version;
  const next: ChannelsFile = already ? current : { formatVersion: MANIFEST_FORMAT, channels: { ...current.channels, [channel]: { version, promotedAt: now.toISOString() } } };
  const file = already ? `artifacts/images/${image}/channels.json` : await writeChannels(root, image, next);
  return { file, channel, ...(from !== undefined ? { from } : {}), to: version, changed: !already };
}
