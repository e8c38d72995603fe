import { assessTemplate } from './assess.js';
import type { DesiredTemplate } from './intent.js';
import { MANIFEST_FORMAT, type ImageManifest, type ManifestBake, type ManifestTemplate } from './manifest.js';
import type { ImageObservation } from './observe.js';

/**
 * The manifest of one image version as the cluster shows it: the ready templates of the
 * desired nodes, with their creation time from PVE's `meta: ctime`, so writing it twice gives
 * the same file (no Git churn). Undefined when no node has a ready template. Pure.
 */
export function manifestFromObservation(group: readonly DesiredTemplate[], obs: ImageObservation, labVersion: string, bake?: ManifestBake): ImageManifest | undefined {
  const first = group[0];
  if (!first) return undefined;
  const templates: ManifestTemplate[] = [];
  for (const d of group) {
    const state = assessTemplate(d, obs);
    if (state.kind !== 'ready') continue;
    templates.push({
      node: d.node,
      vmid: state.vm.vmid,
      name: state.vm.name,
      storage: d.diskStorage,
      importVolume: d.importVolid,
      createdAt: new Date((state.vm.ctime ?? 0) * 1000).toISOString(),
    });
  }
  if (templates.length === 0) return undefined;
  return {
    formatVersion: MANIFEST_FORMAT,
    image: first.image,
    version: first.version,
    os: first.os,
    source: { url: first.url, checksum: first.checksum, format: first.format },
    tag: first.tag,
    serialConsole: first.serialConsole,
    guestAgent: first.guestAgent,
    cloudInit: first.cloudInit,
    templates: templates.sort((a, b) => a.node.localeCompare(b.node)),
    labVersion,
    ...(bake ? { bake } : {}),
  };
}
