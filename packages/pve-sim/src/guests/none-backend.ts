import type {
  AgentInterface,
  CloudInitSeed,
  GuestBackend,
  GuestPowerState,
  GuestSpec,
  LoopbackEndpoint,
} from './backend.js';
import { assertSnapshotName } from './_container.js';
import { synthesizeInterfaces } from './_agent.js';
import { agentNotRunning, noSnapshot, notRunning, snapshotExists } from './_errors.js';

export interface NoneBackendOptions {
  /** How long after a (re)boot the agent starts answering, like a booting guest. Default 0. */
  readonly bootMs?: number;
  /** Epoch milliseconds; inject to step through boot time in tests. */
  readonly clock?: () => number;
  /** Loopback endpoints to hand out for guests' ports (e.g. a test's own sshd); none by default. */
  readonly endpoint?: (vmid: number, port: number) => LoopbackEndpoint | undefined;
}

/** What the none backend remembers about one guest. */
export interface NoneGuestRecord {
  readonly spec: GuestSpec;
  readonly state: GuestPowerState;
  /** Seed in place for the next boot (the last one `start` was given). */
  readonly seed: CloudInitSeed | undefined;
  readonly boots: number;
  readonly snapshots: readonly string[];
  /** Source vmid when the filesystem came from `cloneFilesystem`. */
  readonly clonedFrom: number | undefined;
}

export interface NoneBackend extends GuestBackend {
  readonly kind: 'none';
  /** The record of `vmid`, for assertions in tests. */
  inspect(vmid: number): NoneGuestRecord | undefined;
}

interface MutableRecord {
  spec: GuestSpec;
  state: GuestPowerState;
  seed: CloudInitSeed | undefined;
  boots: number;
  bootedAt: number;
  clonedFrom: number | undefined;
}

/**
 * A backend without guests: it records what the engine asked for, moves power states, and
 * answers agent calls from the spec as a booted guest would. For fast tests and machines
 * without Docker; nothing listens on a guest's ports unless `endpoint` says so.
 */
export function createNoneBackend(options: NoneBackendOptions = {}): NoneBackend {
  const clock = options.clock ?? Date.now;
  const bootMs = options.bootMs ?? 0;
  const guests = new Map<number, MutableRecord>();
  const pendingClones = new Map<number, number>();
  // A VM has a disk, and so snapshots, before its guest first boots.
  const snapshots = new Map<number, Set<string>>();
  const snapshotsOf = (vmid: number): Set<string> => {
    let set = snapshots.get(vmid);
    if (!set) snapshots.set(vmid, (set = new Set()));
    return set;
  };

  const boot = (r: MutableRecord): void => {
    r.state = 'running';
    r.boots += 1;
    r.bootedAt = clock();
  };
  const agentUp = (r: MutableRecord | undefined): r is MutableRecord =>
    r !== undefined && r.state === 'running' && r.spec.agent && clock() - r.bootedAt >= bootMs;

  return {
    kind: 'none',
    async start(spec) {
      let r = guests.get(spec.vmid);
      if (!r) {
        const clonedFrom = pendingClones.get(spec.vmid);
        pendingClones.delete(spec.vmid);
        r = { spec, state: 'stopped', seed: undefined, boots: 0, bootedAt: 0, clonedFrom };
        guests.set(spec.vmid, r);
      }
      r.spec = spec;
      r.seed = spec.cloudInit;
      if (r.state !== 'running') boot(r);
    },
    async stop(vmid) {
      const r = guests.get(vmid);
      if (r) r.state = 'stopped';
    },
    async shutdown(vmid) {
      const r = guests.get(vmid);
      if (r) r.state = 'stopped';
    },
    async reboot(vmid) {
      const r = guests.get(vmid);
      if (!r || r.state !== 'running') throw notRunning(vmid);
      boot(r);
    },
    async destroy(vmid) {
      guests.delete(vmid);
      pendingClones.delete(vmid);
      snapshots.delete(vmid);
    },
    async state(vmid) {
      return guests.get(vmid)?.state ?? 'stopped';
    },
    async snapshot(vmid, name) {
      assertSnapshotName(name);
      const set = snapshotsOf(vmid);
      if (set.has(name)) throw snapshotExists(vmid, name);
      set.add(name);
    },
    async rollback(vmid, name) {
      if (!snapshots.get(vmid)?.has(name)) throw noSnapshot(vmid, name);
      // Proxmox: a rollback to a snapshot without RAM state leaves the VM stopped.
      const r = guests.get(vmid);
      if (r) r.state = 'stopped';
    },
    async deleteSnapshot(vmid, name) {
      if (!snapshots.get(vmid)?.delete(name)) throw noSnapshot(vmid, name);
    },
    async cloneFilesystem(sourceVmid, targetVmid) {
      // PVE clones a running VM live, so a running source is fine.
      pendingClones.set(targetVmid, sourceVmid);
    },
    async agentPing(vmid) {
      return agentUp(guests.get(vmid));
    },
    async agentNetworkInterfaces(vmid): Promise<readonly AgentInterface[]> {
      const r = guests.get(vmid);
      if (!agentUp(r)) throw agentNotRunning(vmid);
      return synthesizeInterfaces(r.spec);
    },
    async endpoint(vmid, port) {
      if (guests.get(vmid)?.state !== 'running') return undefined;
      return options.endpoint?.(vmid, port);
    },
    async close() {
      for (const r of guests.values()) r.state = 'stopped';
    },
    inspect(vmid) {
      const r = guests.get(vmid);
      if (!r) return undefined;
      return {
        spec: r.spec,
        state: r.state,
        seed: r.seed,
        boots: r.boots,
        snapshots: [...(snapshots.get(vmid) ?? [])],
        clonedFrom: r.clonedFrom,
      };
    },
  };
}
