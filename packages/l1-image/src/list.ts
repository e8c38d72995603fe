import type { Site } from '@lab/intent';
import { usersOf } from './assess.js';
import { CHANNELS, findManifest, type Channel, type ImageCatalog } from './manifest.js';
import { imageTag } from './naming.js';
import { isBuildVm, type ImageObservation } from './observe.js';
import { channelVersion } from './resolve.js';

export interface ImageVersionRow {
  readonly image: string;
  readonly version: string;
  /** Listed under `versions` in lab.yaml. */
  readonly declared: boolean;
  readonly channels: readonly Channel[];
  readonly templates: readonly { readonly node: string; readonly vmid: number; readonly template: boolean }[];
  /** From the manifest (earliest template), else undefined. */
  readonly createdAt?: string;
  readonly ageDays?: number;
  /** VMs cloned from this version (by its tag). */
  readonly users: readonly { readonly name: string; readonly vmid: number; readonly node: string }[];
}

/**
 * Every version lab knows of — declared in lab.yaml, recorded in a manifest, or still on the
 * cluster — with its channels, templates, age and users. Pure.
 */
export function listImages(site: Site, catalog: ImageCatalog, obs: ImageObservation, now: Date = new Date()): ImageVersionRow[] {
  const keys = new Map<string, { image: string; version: string }>();
  const add = (image: string, version: string): void => void keys.set(`${image}@${version}`, { image, version });
  for (const i of site.images) for (const v of i.versions) add(i.name, v.version);
  for (const m of catalog.manifests) add(m.image, m.version);
  for (const vm of obs.vms) if (isBuildVm(vm) && vm.provenance) add(vm.provenance.image, vm.provenance.version);
  const rows: ImageVersionRow[] = [];
  for (const { image, version } of keys.values()) {
    const manifest = findManifest(catalog, image, version);
    const created = manifest?.templates.map((t) => t.createdAt).sort()[0];
    const tag = imageTag(image, version);
    rows.push({
      image,
      version,
      declared: site.images.some((i) => i.name === image && i.versions.some((v) => v.version === version)),
      channels: CHANNELS.filter((c) => channelVersion(site, catalog, image, c) === version),
      templates: obs.vms.filter((vm) => isBuildVm(vm) && vm.provenance?.image === image && vm.provenance.version === version).map((vm) => ({ node: vm.node, vmid: vm.vmid, template: vm.template })),
      ...(created ? { createdAt: created, ageDays: Math.floor((now.getTime() - Date.parse(created)) / 86_400_000) } : {}),
      users: usersOf(obs, tag).map((u) => ({ name: u.name, vmid: u.vmid, node: u.node })),
    });
  }
  return rows.sort((a, b) => a.image.localeCompare(b.image) || a.version.localeCompare(b.version));
}
