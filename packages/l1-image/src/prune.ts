import { LabError, type Reporter } from '@lab/core';
import type { Site } from '@lab/intent';
import { deleteVm, isPveError, removeVolume, type PveClient } from '@lab/pve';
import { buildVmsOf, usersOf } from './assess.js';
import { findManifest, removeManifest, type ImageCatalog } from './manifest.js';
import { imageTag } from './naming.js';
import { isBuildVm, type ImageObservation } from './observe.js';
import { CHANNELS } from './manifest.js';
import { channelVersion } from './resolve.js';

export interface PruneTarget {
  readonly image: string;
  readonly version: string;
  readonly vms: readonly { readonly node: string; readonly vmid: number }[];
  /** `<node>/<volid>` of the downloaded file, when the manifest recorded it. */
  readonly files: readonly string[];
}

export interface PruneRefusal {
  readonly image: string;
  readonly version: string;
  readonly reason: string;
}

export interface PrunePlan {
  readonly remove: readonly PruneTarget[];
  readonly refused: readonly PruneRefusal[];
}

/**
 * Which template versions may go: by default every version still on the cluster but no longer
 * in lab.yaml; with `versions` (`image@version`) exactly those. A version is refused while a VM
 * carries its tag, a channel points at it, or lab.yaml still declares it (apply would rebuild
 * it). Pure.
 */
export function planPrune(site: Site, catalog: ImageCatalog, obs: ImageObservation, versions: readonly string[] = [], options: { readonly force?: boolean } = {}): PrunePlan {
  const onCluster = new Map<string, { image: string; version: string }>();
  for (const vm of obs.vms) if (isBuildVm(vm) && vm.provenance) onCluster.set(`${vm.provenance.image}@${vm.provenance.version}`, { image: vm.provenance.image, version: vm.provenance.version });
  for (const m of catalog.manifests) if (!onCluster.has(`${m.image}@${m.version}`)) onCluster.set(`${m.image}@${m.version}`, { image: m.image, version: m.version });
  const declared = (image: string, version: string): boolean => site.images.some((i) => i.name === image && i.versions.some((v) => v.version === version));
  const explicit = versions.map((v) => {
    const at = v.lastIndexOf('@');
    return { image: v.slice(0, at), version: v.slice(at + 1) };
  });
  const candidates = explicit.length > 0 ? explicit : [...onCluster.values()].filter((c) => !declared(c.image, c.version));
  const remove: PruneTarget[] = [];
  const refused: PruneRefusal[] = [];
  for (const { image, version } of candidates) {
    const users = usersOf(obs, imageTag(image, version));
    const channels = CHANNELS.filter((c) => channelVersion(site, catalog, image, c) === version);
    // VMs record the template they were cloned from (adr/0164); a full clone does not need it, so --force may remove it.
    if (users.length > 0 && !options.force) refused.push({ image, version, reason: `used by ${users.map((u) => `${u.name} (${u.vmid})`).join(', ')}` });
    else if (channels.length > 0) refused.push({ image, version, reason: `channel ${channels.join(', ')} points at it; promote another version first` });
    else if (declared(image, version)) refused.push({ image, version, reason: 'lab.yaml still lists it (apply would build it again); remove it from images[].versions first' });
    else {
      const manifest = findManifest(catalog, image, version);
      remove.push({
        image,
        version,
        vms: buildVmsOf(obs, image, version).map((v) => ({ node: v.node, vmid: v.vmid })),
        files: (manifest?.templates ?? []).map((t) => `${t.node}/${t.importVolume}`).filter((f) => obs.importVolumes.includes(f)),
      });
    }
  }
  return { remove, refused };
}

/** Destroy the templates and files of a prune plan and drop their manifests. */
export async function applyPrune(client: PveClient, root: string, plan: PrunePlan, reporter: Reporter, pollMs = 1_000): Promise<void> {
  for (const t of plan.remove) {
    for (const vm of t.vms) {
      try {
        await deleteVm(client, vm, { purge: 1, 'destroy-unreferenced-disks': 1 }, { title: `destroy template ${vm.vmid} (${t.image}@${t.version}) on ${vm.node}`, pollMs });
      } catch (err) {
        if (isPveError(err, 'LAB_PVE_NOT_FOUND')) continue;
        throw new LabError({ code: 'LAB_L1_PRUNE_FAILED', summary: `could not remove template ${vm.vmid} of ${t.image}@${t.version} on ${vm.node}`, detail: (err as Error).message, hint: 'a linked clone still using its base disk blocks removal; `lab image list` shows users', cause: err });
      }
    }
    for (const f of t.files) {
      const slash = f.indexOf('/');
      const node = f.slice(0, slash);
      const volid = f.slice(slash + 1);
      const storage = volid.slice(0, volid.indexOf(':'));
      await removeVolume(client, node, storage, volid, { title: `remove ${volid} on ${node}`, pollMs }).catch((err: unknown) => {
        if (!isPveError(err, 'LAB_PVE_NOT_FOUND')) throw err;
      });
    }
    await removeManifest(root, t.image, t.version);
    reporter.emit({ type: 'log', level: 'info', message: `pruned ${t.image}@${t.version} (${t.vms.length} template(s))` });
  }
}
