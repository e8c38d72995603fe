import { clusterVmids as readClusterVmids, isPveError, listNodeVms, listStorageContent, pveBool, pveInt, pveList, pveRecord, pveString, readVmConfig, type PveClient } from '@lab/pve';
import { parseProvenance, TEMPLATE_TAG, type Provenance } from './naming.js';

/** One VM as L1 sees it; `config` only for VMs that look like L1 templates. */
export interface ObservedVm {
  readonly node: string;
  readonly vmid: number;
  readonly name: string;
  readonly tags: readonly string[];
  readonly template: boolean;
  readonly lock?: string;
  readonly status: string;
  readonly provenance?: Provenance;
  /** Config keys of a candidate template (disks, serial0, agent…), without `description`. */
  readonly config?: Readonly<Record<string, string>>;
  /** Creation time from the config's `meta: …,ctime=<epoch>`. */
  readonly ctime?: number;
}

export interface ImageObservation {
  readonly nodes: readonly string[];
  readonly vms: readonly ObservedVm[];
  /** Every VMID in use anywhere in the cluster. */
  readonly usedVmids: readonly number[];
  /** `<node>/<volid>` of every file on the image storages, e.g. `pve1/local:import/debian-12-1.qcow2`. */
  readonly importVolumes: readonly string[];
  /** PVE ≥ 8.4: qcow2/raw/vmdk go to `import` content with an API token. */
  readonly importDiskImages: boolean;
}

export interface ObserveImagesOptions {
  readonly nodes: readonly string[];
  /** Image storages to list per node. */
  readonly importStorages: readonly string[];
}

/** A lab-built VM (finished or not): tagged `lab-template` and described by L1. */
export function isBuildVm(vm: ObservedVm): boolean {
  return vm.provenance !== undefined && vm.tags.includes(TEMPLATE_TAG) && (vm.template || vm.name.startsWith('tpl-'));
}

async function nodeVms(client: PveClient, node: string): Promise<ObservedVm[]> {
  const rows = await listNodeVms(client, node);
  const vms: ObservedVm[] = [];
  for (const row of rows) {
    const r = pveRecord(row);
    const vmid = pveInt(r['vmid']);
    if (vmid === undefined) continue;
    const tags = pveList(r['tags']).map((t) => t.toLowerCase());
    const base = {
      node,
      vmid,
      name: pveString(r['name']) ?? `VM ${vmid}`,
      tags,
      template: pveBool(r['template']) === true,
      status: pveString(r['status']) ?? 'unknown',
      ...(pveString(r['lock']) ? { lock: pveString(r['lock'])! } : {}),
    };
    if (!tags.includes(TEMPLATE_TAG)) {
      vms.push(base);
      continue;
    }
    const cfg = await readConfig(client, node, vmid);
    vms.push(cfg ? { ...base, ...cfg } : base);
  }
  return vms;
}

async function readConfig(client: PveClient, node: string, vmid: number): Promise<Pick<ObservedVm, 'provenance' | 'config' | 'ctime'> | undefined> {
  try {
    const raw = await readVmConfig(client, { node, vmid });
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      const s = pveString(v);
      if (s !== undefined && k !== 'description' && k !== 'digest') config[k] = s;
    }
    const provenance = parseProvenance(pveString(raw['description']));
    const ctime = pveInt(/(?:^|,)ctime=(\d+)/.exec(config['meta'] ?? '')?.[1]);
    return { config, ...(provenance ? { provenance } : {}), ...(ctime !== undefined ? { ctime } : {}) };
  } catch (err) {
    // Destroyed between the list and the read: it is simply not there.
    if (isPveError(err, 'LAB_PVE_NOT_FOUND')) return undefined;
    throw err;
  }
}

async function clusterVmids(client: PveClient): Promise<number[]> {
  return readClusterVmids(client);
}

async function importFiles(client: PveClient, node: string, storage: string): Promise<string[]> {
  try {
    const rows = await listStorageContent(client, node, storage, { content: 'import' });
    return rows.map((r) => pveString(pveRecord(r)['volid'])).filter((v): v is string => v !== undefined).map((v) => `${node}/${v}`);
  } catch (err) {
    // A storage without `import` content (L0 not applied yet) has no files to find.
    if (isPveError(err) && (err.code === 'LAB_PVE_NOT_FOUND' || err.code === 'LAB_PVE_API' || err.code === 'LAB_PVE_INVALID')) return [];
    throw err;
  }
}

/**
 * Read what L1 cares about: the VMs on the lab's nodes (per node, so a VM made a moment ago is
 * seen — cluster/resources lags), the config of the ones tagged as templates, every VMID in use,
 * and the files on the image storages. Read-only.
 */
export async function observeImages(client: PveClient, options: ObserveImagesOptions): Promise<ImageObservation> {
  const [features, cluster, perNode] = await Promise.all([
    client.features(),
    clusterVmids(client),
    Promise.all(options.nodes.map((n) => nodeVms(client, n))),
  ]);
  const files = await Promise.all(options.nodes.flatMap((n) => options.importStorages.map((s) => importFiles(client, n, s))));
  const vms = perNode.flat().sort((a, b) => a.vmid - b.vmid);
  const used = [...new Set([...cluster, ...vms.map((v) => v.vmid)])].sort((a, b) => a - b);
  return { nodes: [...options.nodes], vms, usedVmids: used, importVolumes: files.flat().sort(), importDiskImages: features.importDiskImages };
}
