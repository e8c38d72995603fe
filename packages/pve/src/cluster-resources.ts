import { pveInt, pveList, pveNumber, pveRecord, pveString } from './coerce.js';

/** One VM row of `cluster/resources`. */
export interface ResourceVm {
  readonly vmid: number;
  readonly node: string;
  readonly name: string;
  readonly status: string;
  readonly tags: readonly string[];
  readonly template: boolean;
  readonly maxmem: number;
  readonly lock: string | undefined;
}

/** One node row of `cluster/resources`. */
export interface ResourceNode {
  readonly node: string;
  readonly online: boolean;
  readonly maxmem: number;
  readonly maxcpu: number;
}

/** The nodes and VMs of one `GET /cluster/resources` answer, typed (§6.8 coercion). */
export function parseResources(rows: readonly unknown[]): { nodes: ResourceNode[]; vms: ResourceVm[] } {
  const nodes: ResourceNode[] = [];
  const vms: ResourceVm[] = [];
  for (const row of rows) {
    const r = pveRecord(row);
    const type = pveString(r['type']);
    if (type === 'node') {
      nodes.push({ node: pveString(r['node']) ?? '', online: pveString(r['status']) === 'online', maxmem: pveNumber(r['maxmem']) ?? 0, maxcpu: pveNumber(r['maxcpu']) ?? 0 });
    } else if (type === 'qemu') {
      const lock = pveString(r['lock']);
      vms.push({
        vmid: pveInt(r['vmid']) ?? 0,
        node: pveString(r['node']) ?? '',
        name: pveString(r['name']) ?? '',
        status: pveString(r['status']) ?? 'unknown',
        tags: pveList(r['tags']),
        template: pveInt(r['template']) === 1,
        maxmem: pveNumber(r['maxmem']) ?? 0,
        ...(lock ? { lock } : { lock: undefined }),
      });
    }
  }
  return { nodes, vms };
}
