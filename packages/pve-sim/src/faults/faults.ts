import picomatch from 'picomatch';
import type { Sim } from '../engine/sim.js';

/** Fail the Nth (and following `times-1`) request whose method and path match. */
export interface RequestFault {
  /** HTTP method; any when omitted. */
  readonly method?: string;
  /** API path below `/api2/json`, as a glob (`/nodes/* /qemu/*` without spaces) or a RegExp. */
  readonly path: string | RegExp;
  /** 1-based index of the first matching call to fail. Default 1. */
  readonly nth?: number;
  /** How many consecutive matching calls fail from the Nth on. Default 1. */
  readonly times?: number;
  /** 500, 595, 596, 599, 401… Proxy pseudo-codes (>= 595) and 401 come without a body type. */
  readonly status: number;
  readonly message: string;
}

/** End the next matching task(s) in error instead of doing their work. */
export interface TaskFault {
  /** Worker type (`qmstart`, `qmclone`, `download`…); any when omitted. */
  readonly type?: string;
  /** Worker id, usually the vmid; any when omitted. */
  readonly id?: string | number;
  readonly node?: string;
  readonly message: string;
  readonly times?: number;
}

export interface LatencyFault {
  readonly method?: string;
  readonly path?: string | RegExp;
  readonly ms: number;
}

export type FaultKind = 'request' | 'task' | 'latency';

export interface FaultEntry {
  readonly id: string;
  readonly kind: FaultKind;
  readonly spec: RequestFault | TaskFault | LatencyFault;
  /** Matching calls seen (request faults) or failures injected (task faults). */
  readonly hits: number;
}

interface Entry {
  readonly id: string;
  readonly kind: FaultKind;
  readonly spec: RequestFault | TaskFault | LatencyFault;
  readonly matchPath: (p: string) => boolean;
  hits: number;
}

function pathMatcher(p: string | RegExp | undefined): (path: string) => boolean {
  if (p === undefined) return () => true;
  if (p instanceof RegExp) return (path) => p.test(path);
  const m = picomatch(p, { dot: true });
  return (path) => m(path);
}

/**
 * Programmable misbehaviour, reproducible by construction: rules count matching calls, so
 * "fail the 3rd clone" fails exactly the 3rd, every run.
 */
export class FaultController {
  private readonly entries: Entry[] = [];
  private seq = 0;
  /** Task status answers 400 `no such task` for this long after dispatch. */
  taskStatusDelayMs = 0;

  constructor(private readonly sim: () => Sim) {}

  failRequest(spec: RequestFault): string {
    return this.add('request', spec, spec.path);
  }

  failTask(spec: TaskFault): string {
    return this.add('task', spec, undefined);
  }

  addLatency(spec: LatencyFault): string {
    return this.add('latency', spec, spec.path);
  }

  remove(id: string): boolean {
    const i = this.entries.findIndex((e) => e.id === id);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }

  clear(): void {
    this.entries.length = 0;
    this.taskStatusDelayMs = 0;
  }

  list(): FaultEntry[] {
    return this.entries.map((e) => ({ id: e.id, kind: e.kind, spec: e.spec, hits: e.hits }));
  }

  /** Set a config `lock` on a VM as a crashed task would leave it (`qm unlock` clears it). */
  holdLock(vmid: number, lock: string): Promise<void> {
    return this.sim().faultSetLock(vmid, lock);
  }

  releaseLock(vmid: number): Promise<void> {
    return this.sim().faultSetLock(vmid, undefined);
  }

  /** Hold the VM's config flock for `ms`: concurrent mutations fail with `got timeout`. */
  holdConfigFlock(vmid: number, ms: number): Promise<void> {
    return this.sim().faultHoldFlock(vmid, ms);
  }

  /** Guest agent of `vmid` (or of every VM started later when omitted) answers only after `ms`. */
  delayAgent(ms: number, vmid?: number): void {
    this.sim().faultDelayAgent(ms, vmid);
  }

  /** Node unreachable (VMs keep running), or with `powerLoss` a power cut and a boot (onboot VMs start). */
  setNodeDown(node: string, down: boolean, opts: { powerLoss?: boolean } = {}): Promise<void> {
    return this.sim().setNodeDown(node, down, opts);
  }

  setResourcesLag(ms: number): void {
    this.sim().resourcesLagMs = ms;
  }

  /** For the HTTP layer: the injected failure for this call, if any. */
  requestFailure(method: string, path: string): RequestFault | undefined {
    for (const e of this.entries) {
      if (e.kind !== 'request') continue;
      const spec = e.spec as RequestFault;
      if (spec.method && spec.method.toUpperCase() !== method) continue;
      if (!e.matchPath(path)) continue;
      e.hits++;
      const nth = spec.nth ?? 1;
      const times = spec.times ?? 1;
      if (e.hits >= nth && e.hits < nth + times) return spec;
    }
    return undefined;
  }

  latencyFor(method: string, path: string): number {
    let ms = 0;
    for (const e of this.entries) {
      if (e.kind !== 'latency') continue;
      const spec = e.spec as LatencyFault;
      if (spec.method && spec.method.toUpperCase() !== method) continue;
      if (!e.matchPath(path)) continue;
      ms += spec.ms;
    }
    return ms;
  }

  /** For the task registry: the error a task of this type/id must end with, if any. */
  taskFailure(type: string, id: string, node: string): string | undefined {
    for (const e of this.entries) {
      if (e.kind !== 'task') continue;
      const spec = e.spec as TaskFault;
      if (spec.type && spec.type !== type) continue;
      if (spec.id !== undefined && String(spec.id) !== id) continue;
      if (spec.node && spec.node !== node) continue;
      if (e.hits >= (spec.times ?? 1)) continue;
      e.hits++;
      return spec.message;
    }
    return undefined;
  }

  private add(kind: FaultKind, spec: Entry['spec'], p: string | RegExp | undefined): string {
    const id = `f${++this.seq}`;
    this.entries.push({ id, kind, spec, matchPath: pathMatcher(p), hits: 0 });
    return id;
  }
}
