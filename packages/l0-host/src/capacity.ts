import { gib, item, l0, type HostItem } from './item.js';
import { isObservedError, type HostObservation } from './observe.js';
import type { HostRequirements, VmNeed } from './requirements.js';

/** Storage types that allocate on write: summing declared sizes over their size is only a warning. */
const THIN = new Set(['lvmthin', 'dir', 'nfs', 'cifs', 'btrfs', 'cephfs', 'rbd']);

export interface NodeBudget {
  readonly cores: number;
  readonly memory: number;
}

function budgets(declared: ReadonlyMap<string, NodeBudget>, obs: HostObservation): Map<string, NodeBudget> {
  const seen = new Map((obs.nodes ?? []).map((n) => [n.name, n]));
  const out = new Map<string, NodeBudget>();
  for (const [name, d] of declared) {
    const n = seen.get(name);
    // lab.yaml says what guests may use; the node itself caps it.
    out.set(name, { cores: Math.min(d.cores, n?.maxcpu ?? d.cores), memory: Math.min(d.memory, n?.maxmem ?? d.memory) });
  }
  return out;
}

const list = (vms: readonly VmNeed[], f: (v: VmNeed) => string): string => vms.map((v) => `${v.persona} ${f(v)}`).join(', ');

/**
 * Do the personas fit? Per node: memory of pinned personas against the node's budget
 * (error), vCPUs (over-commit is a warning; one VM larger than the node is an error);
 * `auto` personas are placed like L2 does — on the node with the most free memory — and must
 * all fit; disks per storage against its size (a warning on thin storage).
 */
export function checkCapacity(req: HostRequirements, obs: HostObservation, declared: ReadonlyMap<string, NodeBudget>, online: ReadonlySet<string>): HostItem[] {
  const out: HostItem[] = [];
  const budget = budgets(declared, obs);
  const usedMem = new Map<string, number>();
  const usedCpu = new Map<string, number>();
  const placed = new Map<string, VmNeed[]>();
  const place = (node: string, vm: VmNeed): void => {
    usedMem.set(node, (usedMem.get(node) ?? 0) + vm.memory);
    usedCpu.set(node, (usedCpu.get(node) ?? 0) + vm.vcpus);
    placed.set(node, [...(placed.get(node) ?? []), vm]);
  };
  for (const vm of req.vms) if (vm.node !== 'auto') place(vm.node, vm);

  const auto = req.vms.filter((v) => v.node === 'auto').sort((a, b) => b.memory - a.memory || (a.persona < b.persona ? -1 : 1));
  const unplaced: VmNeed[] = [];
  for (const vm of auto) {
    const candidates = [...budget].filter(([n, b]) => online.has(n) && b.memory - (usedMem.get(n) ?? 0) >= vm.memory && b.cores >= vm.vcpus);
    candidates.sort(([a, ba], [b, bb]) => bb.memory - (usedMem.get(b) ?? 0) - (ba.memory - (usedMem.get(a) ?? 0)) || (a < b ? -1 : 1));
    const target = candidates[0]?.[0];
    if (target === undefined) unplaced.push(vm);
    else place(target, vm);
  }

  for (const [node, b] of budget) {
    const at = l0('capacity', node);
    const vms = placed.get(node) ?? [];
    const mem = usedMem.get(node) ?? 0;
    const cpu = usedCpu.get(node) ?? 0;
    const pinnedHere = vms.filter((v) => v.node === node);
    if (mem > b.memory) {
      out.push(item({ address: at, kind: 'capacity', status: 'fail', code: 'LAB_L0_CAPACITY_MEMORY', summary: `${node}: personas need ${gib(mem)} of memory, ${gib(b.memory)} available (over by ${gib(mem - b.memory)})`, detail: list(vms, (v) => gib(v.memory)), hint: 'move personas to other nodes (vm.node), shrink vm.memory, or raise nodes[].memory in lab.yaml if the node has more' }));
    }
    const tooBig = pinnedHere.filter((v) => v.vcpus > b.cores);
    if (tooBig.length > 0) {
      out.push(item({ address: at, kind: 'capacity', status: 'fail', code: 'LAB_L0_CAPACITY_CPU', summary: `${node}: ${list(tooBig, (v) => `needs ${v.vcpus} vCPUs`)} but the node has ${b.cores} cores`, hint: 'Proxmox refuses to start a VM with more vCPUs than the node has: lower vm.cores × vm.sockets' }));
    }
    if (cpu > b.cores) {
      out.push(item({ address: at, kind: 'capacity', status: 'warn', code: 'LAB_L0_CAPACITY_CPU', summary: `${node}: ${cpu} vCPUs on ${b.cores} cores (over-committed ${(cpu / b.cores).toFixed(1)}×)`, detail: list(vms, (v) => `${v.vcpus}`), hint: 'fine for idle guests; move busy personas to other nodes if they compete' }));
    }
    if (mem <= b.memory && tooBig.length === 0 && online.has(node)) {
      out.push(item({ address: at, kind: 'capacity', status: 'ok', code: 'LAB_L0_OK', summary: `${node}: ${cpu}/${b.cores} vCPUs, ${gib(mem)}/${gib(b.memory)} memory for ${vms.length} persona${vms.length === 1 ? '' : 's'}${vms.some((v) => v.node === 'auto') ? ' (incl. auto-placed)' : ''}` }));
    }
  }
  if (unplaced.length > 0) {
    out.push(
      item({
        address: l0('capacity', 'cluster'),
        kind: 'capacity',
        status: 'fail',
        code: 'LAB_L0_CAPACITY_PLACEMENT',
        summary: `no online node has room for ${list(unplaced, (v) => `(${gib(v.memory)}, ${v.vcpus} vCPUs)`)} with node: auto`,
        detail: [...budget].map(([n, b]) => `${n}: ${online.has(n) ? `${gib(b.memory - (usedMem.get(n) ?? 0))} free` : 'offline'}`).join(', '),
        hint: 'free memory on a node, add a node, or shrink the personas',
      }),
    );
  }
  out.push(...checkDisks(req, obs, placed, online));
  return out;
}

function checkDisks(req: HostRequirements, obs: HostObservation, placed: ReadonlyMap<string, readonly VmNeed[]>, online: ReadonlySet<string>): HostItem[] {
  const out: HostItem[] = [];
  for (const st of req.storages) {
    const size = (node: string): number | undefined => {
      const rows = obs.storageStatus[node];
      if (rows === undefined || isObservedError(rows)) return undefined;
      return rows.find((r) => r.name === st.name)?.total;
    };
    const demand = (vms: readonly VmNeed[]): number => vms.reduce((sum, v) => sum + v.disks.filter((d) => d.storage === st.name).reduce((s, d) => s + d.size, 0), 0);
    // A shared storage is one pool of space; a local one is per node.
    const scopes: [string, number, number | undefined][] = st.shared
      ? [[st.name, demand([...placed.values()].flat()), st.nodes.filter((n) => online.has(n)).map(size).find((t) => t !== undefined)]]
      : st.nodes.filter((n) => online.has(n)).map((n) => [`${st.name}@${n}`, demand(placed.get(n) ?? []), size(n)]);
    for (const [key, need, total] of scopes) {
      if (need === 0 || total === undefined || need <= total) continue;
      const thin = THIN.has(st.type);
      out.push(
        item({
          address: l0('capacity', key),
          kind: 'capacity',
          status: thin ? 'warn' : 'fail',
          code: 'LAB_L0_CAPACITY_DISK',
          summary: `${key}: persona disks total ${gib(need)} on ${gib(total)} of storage${thin ? ' (thin: fine until the guests fill them)' : ''}`,
          hint: 'move disks to another storage (vm.disks[].storage), shrink them, or grow the storage',
        }),
      );
    }
  }
  return out;
}
