/**
 * @lab/pve-sim — a Proxmox VE 8.4 / 9.1 API simulator for tests and local runs: HTTPS on loopback
 * with PVE's wire behaviour (parsing quirks, envelopes, auth, ACLs, UPID tasks, locks, config
 * digests), a VM engine that drives a pluggable guest backend, persistent state, and fault
 * injection. `startSimulator` is the entry point.
 */
export { startSimulator, ADMIN_TOKEN_ID } from './simulator.js';
export type { RunningSimulator, SimEngine } from './simulator.js';
export { FAST_TIMING, REALISTIC_TIMING, DEFAULT_COMPAT } from './options.js';
export { PVE_RELEASES, DEFAULT_PVE, pveRelease } from './versions.js';
export type { PveRelease } from './versions.js';
export { privilegeCatalogue } from './access/privileges.js';
export type { PrivilegeCatalogue } from './access/privileges.js';
export type { SimulatorOptions, TimingOptions, CompatOptions, HostDns, NodeSpec } from './options.js';
export { FaultController } from './faults/faults.js';
export type { StandInImage } from './storage/stand-in.js';
export { qcow2Header } from './storage/qcow2.js';
export { guestInstanceName } from './guests/instance-name.js';
export { acquireOwnerLock, readLockHolder, holderState, describeHolder, currentHolder, OWNER_LOCK } from './state/owner-lock.js';
export type { OwnerLock, LockHolder } from './state/owner-lock.js';
export { ENDPOINT_FILE, attachEndpoint, liveEndpoint, publishEndpoint, withdrawEndpoint, waitForClients, liveClients } from './state/share.js';
export type { Attachment, PublishedEndpoint } from './state/share.js';
export type { RequestFault, TaskFault, LatencyFault, FaultEntry, FaultKind } from './faults/faults.js';
export type { SimEvent, SimListener } from './engine/sim.js';
export type { TaskRecord } from './state/model.js';
export type {
  AgentInterface,
  CloudInitSeed,
  GuestBackend,
  GuestNic,
  GuestPowerState,
  GuestSpec,
  LoopbackEndpoint,
} from './guests/backend.js';
export { createDockerBackend, createNoneBackend, ensureGuestImage, dockerEngineVersion, pruneStaleGuests, removeInstanceGuests, ensureInotifyRoom, inotifyInstancesInUse, INOTIFY_PER_GUEST } from './guests/index.js';
export type { InotifyRoom } from './guests/index.js';
export type { DockerBackendOptions, NoneBackendOptions } from './guests/index.js';
// Lazy: the jump host needs ssh2, which plain Node ESM cannot import by named exports.
export { startJumpHost } from './_jump-lazy.js';
export type { JumpHost, JumpHostEvent, JumpHostOptions } from './jump/index.js';
