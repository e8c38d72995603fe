import type { GuestBackend, LoopbackEndpoint } from '../guests/backend.js';
import type { ResolvedOptions } from '../options.js';
import type { ClusterState, VmRecord } from '../state/model.js';
import type { StateStore } from '../state/persist.js';
import { AccessControl } from '../access/acl.js';
import { FlockTable, type LockMode } from '../util/_flock.js';
import type { Random } from '../util/_prng.js';
import { TaskRegistry } from './tasks.js';
import { FaultController } from '../faults/faults.js';
import { fail } from '../http/_errors.js';

/** Things the simulator reports as they happen (library code never logs). */
export type SimEvent =
  | { readonly kind: 'request'; readonly method: string; readonly path: string; readonly status: number; readonly principal?: string }
  | { readonly kind: 'task-finished'; readonly upid: string; readonly exitstatus: string | undefined }
  | { readonly kind: 'guest-error'; readonly vmid: number; readonly action: string; readonly message: string };

export type SimListener = (event: SimEvent) => void;

export interface SimInit {
  readonly store: StateStore;
  readonly options: ResolvedOptions;
  readonly guests: GuestBackend;
  readonly rng: Random;
  readonly clock: () => number;
  readonly localNode: string;
}

/** Config flock wait times of PVE, in ms before scaling. */
export const FLOCK_MS = { config: 10_000, clone: 1_000, create: 5_000, storage: 10_000 } as const;

/**
 * The simulated cluster: state, clock, randomness, access control, tasks, locks, faults and
 * the guest backend. Route handlers and VM operations all work through one instance.
 */
export class Sim {
  readonly state: ClusterState;
  readonly store: StateStore;
  readonly options: ResolvedOptions;
  readonly guests: GuestBackend;
  readonly rng: Random;
  readonly localNode: string;
  readonly access: AccessControl;
  readonly tasks: TaskRegistry;
  readonly flocks = new FlockTable();
  readonly faults: FaultController;
  resourcesLagMs: number;
  /** SHA-256 fingerprint of the API certificate (colon hex), empty for plain HTTP. */
  fingerprint = '';
  private readonly clock: () => number;
  private readonly listeners = new Set<SimListener>();
  private agentDelayDefault: number | undefined;

  constructor(init: SimInit) {
    this.store = init.store;
    this.state = init.store.state;
    this.options = init.options;
    this.guests = init.guests;
    this.rng = init.rng;
    this.clock = init.clock;
    this.localNode = init.localNode;
    this.access = new AccessControl(this.state.access, () => this.state.pools, init.options.pve.privileges);
    this.tasks = new TaskRegistry(this);
    this.faults = new FaultController(() => this);
    this.resourcesLagMs = init.options.timing.resourcesLagMs;
  }

  now(): number {
    return this.clock();
  }

  nowS(): number {
    return Math.floor(this.clock() / 1000);
  }

  on(listener: SimListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: SimEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure must not break the simulation
      }
    }
  }

  save(): Promise<void> {
    return this.store.flush();
  }

  flockMs(kind: keyof typeof FLOCK_MS): number {
    return Math.max(1, Math.round(FLOCK_MS[kind] * this.options.timing.flockScale));
  }

  /** PVE's `lock_config`: the per-VM flock every mutation holds. */
  withConfigLock<T>(vmid: number, fn: () => Promise<T>, opts: { timeout?: keyof typeof FLOCK_MS; mode?: LockMode } = {}): Promise<T> {
    return this.flocks.with(`/var/lock/qemu-server/lock-${vmid}.conf`, opts.mode ?? 'exclusive', this.flockMs(opts.timeout ?? 'config'), fn);
  }

  /** PVE's `cluster_lock_storage` around volume allocation on local storage. */
  withStorageLock<T>(storage: string, fn: () => Promise<T>): Promise<T> {
    return this.flocks.with(`/var/lock/pve-manager/pve-storage-${storage}`, 'exclusive', this.flockMs('storage'), fn);
  }

  vm(vmid: number | string): VmRecord | undefined {
    return this.state.vms[String(vmid)];
  }

  /** The agent boot delay for a VM that starts now. */
  agentDelayFor(_vmid: number): number {
    return this.agentDelayDefault ?? this.options.timing.agentBootMs;
  }

  async faultSetLock(vmid: number, lock: string | undefined): Promise<void> {
    const vm = this.vm(vmid);
    if (!vm) fail(`VM ${vmid} does not exist`);
    if (lock === undefined) delete vm.conf['lock'];
    else vm.conf['lock'] = lock;
    await this.save();
  }

  async faultHoldFlock(vmid: number, ms: number): Promise<void> {
    const release = await this.flocks.acquire(`/var/lock/qemu-server/lock-${vmid}.conf`, 'exclusive', this.flockMs('config'));
    setTimeout(release, ms);
  }

  faultDelayAgent(ms: number, vmid?: number): void {
    if (vmid === undefined) {
      this.agentDelayDefault = ms;
      return;
    }
    const vm = this.vm(vmid);
    if (vm) vm.runtime.agentReadyAt = this.now() + ms;
  }

  /**
   * Take a node off the cluster network, or back. With `powerLoss` going down is a power cut:
   * its running VMs die with it (their records say stopped, their guests are stopped), and
   * coming back is a boot: the VMs with `onboot: 1` start again, their agents answering only
   * after the boot delay, as pve-guests' `startall` does. Without it the node is only
   * unreachable and its VMs keep running. Configs, disks and tasks are kept either way.
   */
  async setNodeDown(node: string, down: boolean, opts: { powerLoss?: boolean } = {}): Promise<void> {
    const rec = this.state.nodes[node];
    if (!rec) fail(`no such node '${node}'`);
    const wasDown = rec.down === true;
    rec.down = down;
    if (!down) rec.bootedAt = this.now();
    if (opts.powerLoss && down && !wasDown) {
      for (const vm of Object.values(this.state.vms)) {
        if (vm.node !== node || vm.runtime.status === 'stopped') continue;
        try {
          await this.guests.stop(vm.vmid);
        } catch {
          // a guest that is already gone died with the node all the same
        }
        const { status: _s, pid: _p, startedAt: _st, agentReadyAt: _a, addresses: _ad, ...rest } = vm.runtime;
        vm.runtime = { ...rest, status: 'stopped', changedAt: this.now() };
      }
    }
    if (opts.powerLoss && !down && wasDown) {
      const { bootOnNode } = await import('../qemu/onboot.js');
      bootOnNode(this, node);
    }
    await this.save();
  }

  /**
   * For the SSH jump host: the loopback endpoint of the running VM that declares `address`
   * (an ipconfig `ip=` without prefix, e.g. `10.20.0.10`), or undefined.
   */
  async resolveGuestEndpoint(address: string, port: number): Promise<LoopbackEndpoint | undefined> {
    for (const vm of Object.values(this.state.vms)) {
      if (vm.runtime.status !== 'running') continue;
      if (vm.runtime.addresses?.includes(address)) return this.guests.endpoint(vm.vmid, port);
    }
    return undefined;
  }
}
