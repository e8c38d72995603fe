import { imageTag } from '@lab/pve';
import type { ResourceNode, ResourceVm } from './observe.js';

/** Templates of one image version, by node: `lab-image-<name>-<version>` (adr/0081, one home in @lab/pve). */
export { imageTag };

export interface TemplateRef {
  readonly vmid: number;
  readonly node: string;
}

/**
 * Which template is image X version Y: the one small lookup to switch to L1's resolver later.
 * Reads the `cluster/resources` rows L2 already has, so it costs no call.
 */
export function findTemplates(vms: readonly ResourceVm[], name: string, version: string): TemplateRef[] {
  const tag = imageTag(name, version);
  return vms.filter((v) => v.template && v.tags.includes(tag)).map((v) => ({ vmid: v.vmid, node: v.node })).sort((a, b) => a.vmid - b.vmid);
}

/** Memory promised to VMs per node (their configured maximum, not current use, so the figure does not flap). */
export function committedMemory(vms: readonly ResourceVm[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of vms) if (!v.template) out.set(v.node, (out.get(v.node) ?? 0) + v.maxmem);
  return out;
}

/**
 * `vm.node: auto`: the online node with the most uncommitted memory among `candidates`; ties go
 * to the first name, so two plans of the same cluster agree. `extra` holds memory already
 * promised in this plan (several `auto` personas spread instead of piling on one node).
 */
export function pickNode(nodes: readonly ResourceNode[], committed: ReadonlyMap<string, number>, candidates: readonly string[], extra: ReadonlyMap<string, number> = new Map()): string | undefined {
  const free = (n: ResourceNode): number => n.maxmem - (committed.get(n.node) ?? 0) - (extra.get(n.node) ?? 0);
  return nodes
    .filter((n) => n.online && candidates.includes(n.node))
    .sort((a, b) => free(b) - free(a) || a.node.localeCompare(b.node))[0]?.node;
}
