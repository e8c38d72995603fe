/**
 * @lab/l2-vm — layer L2: one Proxmox VM per persona, with no state file. VMs are found on the
 * live cluster by their tags and a description marker (one `cluster/resources` read plus one
 * read per managed VM), created as full clones of the L1 template of the persona's image,
 * configured with explicit ownership (only keys the persona declares are compared), changed
 * with Proxmox's impact rules (hotplug, pending until reboot, grow-only disks), given an SSH
 * host key through cloud-init vendor data and pinned in the lab's known_hosts, and destroyed
 * keeping persistent data disks. See docs/l2-vm.md and adr/0085–0089.
 */
export { desiredVm, snippetStorageOf, netValue, ipconfigValue, ALWAYS_OWNED } from './desired.js';
export type { DesiredVm, DesiredDisk, DesiredOptions } from './desired.js';
export { observeVms, observeDesired, readVm, parseResources } from './observe.js';
export type { Observation, ObservedVm, ObserveScope, DataVolume, ResourceNode, ResourceVm } from './observe.js';
export { planVms, bootDisk } from './plan.js';
export { projectVms } from './projection.js';
export type { ProjectVmsOptions } from './projection.js';
export type { PlanVmsOptions, VmAfter, VmBefore, RemovedDisk } from './plan.js';
export { applyVms } from './apply.js';
export { findOrphans, planOrphanDestroy } from './orphans.js';
export type { OrphanVm, PlanOrphanOptions } from './orphans.js';
export type { ApplyVmsContext } from './apply.js';
export { keyImpact, diskImpact, hotplugFeatures } from './impact.js';
export type { KeyImpact } from './impact.js';
export { sameValue } from './compare.js';
export { findTemplates, imageTag, pickNode, committedMemory } from './placement.js';
export type { TemplateRef } from './placement.js';
export { acquireLock, lockPool, lockHolder } from './lock.js';
export type { HeldLock, LockOptions } from './lock.js';
export { holderGone, parseHolder, formatHolder, describeHolder, processStart } from './holder.js';
export type { LockHolder } from './holder.js';
export { createLimiter, DEFAULT_PARALLELISM } from './limits.js';
export type { Limiter, Parallelism } from './limits.js';
export { waitForAgent, startVm } from './agent.js';
export type { AgentWaitOptions } from './agent.js';
export { unconverged, notConvergedError } from './verify.js';
export type { Unconverged } from './verify.js';
export { generateHostKey, hostKeyVendorData, knownNames } from './hostkey.js';
export type { HostKey, SnippetWriter } from './hostkey.js';
export { sshSnippetWriter, storagePathOf, snippetFile } from './snippets-ssh.js';
export type { SshSnippetOptions } from './snippets-ssh.js';
export { adoptVm, renderVmSection, markAdopted } from './adopt.js';
export type { AdoptedVm } from './adopt.js';
export {
  LAB_TAG,
  HOLDER_VMID,
  personaTag,
  marker,
  describeVm,
  personaOfDescription,
  persistentVolumeName,
  legacyVolumeName,
  parsePersistentVolume,
  isVolumeOf,
  hostKeySnippetName,
  vmAddress,
} from './identity.js';
