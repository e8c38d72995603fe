/**
 * Guests of the Proxmox simulator: the backend contract the VM engine drives, a Docker backend
 * running real Debian guests (systemd, cloud-init from a NoCloud seed, QEMU guest agent, sshd on
 * a loopback port), a record-only backend for fast tests, and the guest image they boot.
 */
export type {
  AgentInterface,
  CloudInitSeed,
  GuestBackend,
  GuestNic,
  GuestPowerState,
  GuestSpec,
  LoopbackEndpoint,
} from './backend.js';
export { createDockerBackend } from './docker-backend.js';
export type { DockerBackendOptions, GuestAction, GuestEvent } from './docker-backend.js';
export { createNoneBackend } from './none-backend.js';
export type { NoneBackend, NoneBackendOptions, NoneGuestRecord } from './none-backend.js';
export { GUEST_IMAGE_SCRIPT, ensureGuestImage, guestImageTag } from './guest-image.js';
export type { GuestImage, GuestImageOptions } from './guest-image.js';
export { pruneStaleGuests, removeInstanceGuests } from './prune.js';
export { ensureInotifyRoom, inotifyInstancesInUse, INOTIFY_PER_GUEST } from './inotify.js';
export type { InotifyRoom } from './inotify.js';
export type { PruneOptions, PruneResult } from './prune.js';
export { dockerEngineVersion } from './_docker-cli.js';
