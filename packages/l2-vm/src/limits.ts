/**
 * How many VMs L2 works on at once (adr/0160): `vms` in all, `perNode` on one Proxmox node
 * (clones and disk allocation are I/O on that node's storage), with per-node overrides. Guest
 * agent waits hold no slot: a booting VM costs the node nothing lab could use.
 */
export interface Parallelism {
  readonly vms?: number;
  readonly perNode?: number;
  readonly nodes?: Readonly<Record<string, number>>;
}

export const DEFAULT_PARALLELISM = { vms: 4, perNode: 2 } as const;

class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async take(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.queue.push(r));
  }
  give(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

export interface Limiter {
  /** Run `fn` once a slot of `node` and one overall are free. */
  run<T>(node: string, fn: () => Promise<T>): Promise<T>;
  /** Most slots in use at once so far (for tests and the bench). */
  readonly peak: { overall: number; perNode: Map<string, number> };
}

export function createLimiter(p: Parallelism = {}): Limiter {
  const overall = new Semaphore(Math.max(1, p.vms ?? DEFAULT_PARALLELISM.vms));
  const perNode = new Map<string, Semaphore>();
  const now = { overall: 0, perNode: new Map<string, number>() };
  const peak = { overall: 0, perNode: new Map<string, number>() };
  const nodeSem = (node: string): Semaphore => {
    let s = perNode.get(node);
    if (!s) perNode.set(node, (s = new Semaphore(Math.max(1, p.nodes?.[node] ?? p.perNode ?? DEFAULT_PARALLELISM.perNode))));
    return s;
  };
  return {
    peak,
    async run(node, fn) {
      // Always node first, then overall: one order, so no two runs wait on each other.
      const ns = nodeSem(node);
      await ns.take();
      await overall.take();
      now.overall++;
      now.perNode.set(node, (now.perNode.get(node) ?? 0) + 1);
      peak.overall = Math.max(peak.overall, now.overall);
      peak.perNode.set(node, Math.max(peak.perNode.get(node) ?? 0, now.perNode.get(node)!));
      try {
        return await fn();
      } finally {
        now.overall--;
        now.perNode.set(node, now.perNode.get(node)! - 1);
        overall.give();
        ns.give();
      }
    },
  };
}
