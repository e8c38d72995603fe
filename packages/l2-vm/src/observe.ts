import { candidatePersona, isPveError, listStorageContent, pveInt, pveRecord, pveString, readClusterResources, readVmCurrent, readVmPending, type PveClient, type ResourceNode, type ResourceVm } from '@lab/pve';
import { HOLDER_VMID, personaOfDescription } from './identity.js';
import type { DesiredVm } from './desired.js';

export { parseResources } from '@lab/pve';
export type { ResourceVm, ResourceNode } from '@lab/pve';

/** A managed VM as read: effective config (pending applied), current values, and what is pending. */
export interface ObservedVm {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  readonly status: string;
  /** Values as they will be after the next boot (`GET pending`: pending ?? value). */
  readonly config: Readonly<Record<string, string>>;
  /** Values the running VM has now. */
  readonly current: Readonly<Record<string, string>>;
  /** Keys with a pending value or pending delete. */
  readonly pending: readonly string[];
  readonly digest: string;
}

/** What L2 knows about the cluster after one `cluster/resources` read and one read per managed VM. */
export interface Observation {
  readonly nodes: readonly ResourceNode[];
  readonly vms: readonly ResourceVm[];
  /** Managed VMs by persona (only personas asked for). */
  readonly managed: ReadonlyMap<string, ObservedVm>;
  /** VMs that carry a persona's name, tag or declared vmid but not lab's marker. */
  readonly foreign: ReadonlyMap<string, ResourceVm>;
  /** Persistent data volumes (owner HOLDER_VMID) on the storages asked for, per node that answered. */
  readonly dataVolumes: readonly DataVolume[];
  /** Nodes whose data volumes could not be listed (offline): data may be there unseen. */
  readonly unseenNodes: readonly string[];
  /** The storages whose data volumes were listed. */
  readonly dataStorages: readonly string[];
  readonly calls: number;
}

/** A volume owned by HOLDER_VMID as one node lists it (a shared storage lists it on every node). */
export interface DataVolume {
  readonly node: string;
  readonly storage: string;
  readonly volid: string;
  readonly size: number;
}

export interface ObserveScope {
  readonly personas: readonly string[];
  /** Declared vmids by persona: a VM there that is not lab's blocks the create. */
  readonly vmids?: ReadonlyMap<string, number>;
  /** Storages holding persistent data disks: their HOLDER_VMID volumes are listed on every online node. */
  readonly dataStorages?: readonly string[];
  /**
   * VMs read at once (each costs two calls: config and live status); default: half the client's
   * connections (`proxmox.connections`), so every call in flight has its own socket (adr/0157).
   */
  readonly concurrency?: number;
}

const asText = (v: unknown): string | undefined => pveString(v);

/** Read one VM through `GET …/pending`: current and pending values and the digest in one call. */
export async function readVm(client: PveClient, node: string, vmid: number): Promise<{ config: Record<string, string>; current: Record<string, string>; pending: string[]; digest: string }> {
  const rows = await readVmPending(client, { node, vmid });
  const config: Record<string, string> = {};
  const current: Record<string, string> = {};
  const pending: string[] = [];
  let digest = '';
  for (const row of rows) {
    const r = pveRecord(row);
    const key = pveString(r['key']);
    if (!key) continue;
    const value = asText(r['value']);
    if (key === 'digest') {
      digest = value ?? '';
      continue;
    }
    if (value !== undefined) current[key] = value;
    const pend = asText(r['pending']);
    const del = pveInt(r['delete']);
    if (del) {
      pending.push(key);
      continue;
    }
    if (pend !== undefined) {
      pending.push(key);
      config[key] = pend;
    } else if (value !== undefined) config[key] = value;
  }
  return { config, current, pending, digest };
}


async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Find the lab's VMs for `scope.personas` on the live cluster: one `cluster/resources` read,
 * then one `pending` read per candidate (tag `lab-persona-<name>`, or the persona's name, or its
 * declared vmid). The description marker decides: with it the VM is managed, without it foreign.
 */
export async function observeVms(client: PveClient, scope: ObserveScope): Promise<Observation> {
  const { nodes, vms } = await readClusterResources(client);
  const wanted = new Set(scope.personas);
  const candidates = new Map<number, { vm: ResourceVm; persona: string }>();
  for (const vm of vms) {
    const persona = candidatePersona(vm, wanted, scope.vmids);
    if (persona) candidates.set(vm.vmid, { vm, persona });
  }
  const list = [...candidates.values()];
  // The power state comes from the node (`status/current`), not from cluster/resources: pvestatd
  // broadcasts every 10 s, so a VM started or stopped moments ago still shows its old state there.
  const reads = await pool(list, scope.concurrency ?? Math.max(1, Math.floor(client.transport.connections / 2)), async ({ vm, persona }) => {
    const [read, status] = await Promise.all([readVm(client, vm.node, vm.vmid), liveStatus(client, vm)]);
    return { vm, persona, read, status };
  });
  const managed = new Map<string, ObservedVm>();
  const foreign = new Map<string, ResourceVm>();
  for (const { vm, persona, read, status } of reads) {
    const owner = personaOfDescription(read.config['description'] ?? read.current['description']);
    if (owner === persona && !managed.has(persona)) {
      managed.set(persona, { persona, vmid: vm.vmid, node: vm.node, status, config: read.config, current: read.current, pending: read.pending, digest: read.digest });
    } else if (owner === undefined) {
      foreign.set(persona, vm);
    }
  }
  const data = await listDataVolumes(client, nodes, scope.dataStorages ?? []);
  return { nodes, vms, managed, foreign, dataVolumes: data.volumes, unseenNodes: data.unseen, dataStorages: [...(scope.dataStorages ?? [])], calls: 1 + 2 * list.length + data.calls };
}

async function listDataVolumes(client: PveClient, nodes: readonly ResourceNode[], storages: readonly string[]): Promise<{ volumes: DataVolume[]; unseen: string[]; calls: number }> {
  const volumes: DataVolume[] = [];
  const unseen = new Set<string>();
  if (storages.length === 0) return { volumes, unseen: [], calls: 0 };
  const pairs = nodes.flatMap((n) => storages.map((storage) => ({ node: n.node, online: n.online, storage })));
  for (const p of pairs) if (!p.online) unseen.add(p.node);
  const online = pairs.filter((p) => p.online);
  await pool(online, 8, async ({ node, storage }) => {
    let rows: readonly unknown[];
    try {
      rows = await listStorageContent(client, node, storage, { vmid: HOLDER_VMID });
    } catch (e) {
      // Not on this node (a storage limited to some nodes) is fine; a node that does not answer is unseen.
      if (isPveError(e) && /does not exist|not available|no such storage|is not online|not active/i.test(e.pveMessage)) return;
      if (isPveError(e)) {
        unseen.add(node);
        return;
      }
      throw e;
    }
    for (const row of rows) {
      const r = pveRecord(row);
      const volid = pveString(r['volid']);
      if (volid) volumes.push({ node, storage, volid, size: pveInt(r['size']) ?? 0 });
    }
  });
  return { volumes, unseen: [...unseen].sort(), calls: online.length };
}

/** Observe what the plan of `desired` needs: their VMs, and the data volumes of their persistent disks. */
export function observeDesired(client: PveClient, desired: readonly DesiredVm[]): Promise<Observation> {
  const vmids = new Map(desired.filter((d) => d.vmid !== undefined).map((d) => [d.persona, d.vmid!]));
  const dataStorages = [...new Set(desired.flatMap((d) => d.disks.filter((x) => x.persistent).map((x) => x.storage)))].sort();
  return observeVms(client, { personas: desired.map((d) => d.persona), vmids, dataStorages });
}

/** `status/current` of one VM; the cluster/resources row's status when the node cannot say. */
async function liveStatus(client: PveClient, vm: ResourceVm): Promise<string> {
  try {
    return pveString((await readVmCurrent(client, vm))['status']) ?? vm.status;
  } catch {
    return vm.status;
  }
}
