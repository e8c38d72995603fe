/**
 * @lab/l0-host — layer L0: is the Proxmox site ready for the lab, and make it so. Observes the
 * cluster (version, nodes, storages, bridges, the lab token's effective privileges, roles,
 * pools), assesses it against lab.yaml and the personas (content types, VLAN-aware bridges,
 * capacity with over-commit report), plans the least-privilege setup (roles, user, API token
 * with privilege separation, ACLs, pools, storage content) and applies it with admin
 * credentials, storing the new token's secret only in the encrypted secrets store.
 * L1–L4 call `assertHostReady` before they touch Proxmox. See docs/l0-host.md.
 */
export { observeHost, isObservedError } from './observe.js';
export type {
  HostObservation,
  ObserveOptions,
  ObservedError,
  ObservedNode,
  ObservedStorageConfig,
  ObservedStorageStatus,
  ObservedBridge,
} from './observe.js';
export { hostRequirements } from './requirements.js';
export type { HostIntent, HostRequirements, StorageNeed, BridgeNeed, AclNeed, PrivilegeNeed, VmNeed } from './requirements.js';
export { labIdentity, poolName, rolePrivileges, STAGES, DEFAULT_TOKEN_ID, DEFAULT_TOKEN_SECRET } from './identity.js';
export type { LabIdentity, LabRole, Stage } from './identity.js';
export { assessHost, basisOf } from './assess.js';
export type { AssessOptions, HostAssessment } from './assess.js';
export { planHost, planFromAssessment, L0_BASIS_KEY } from './plan.js';
export type { PlanHostOptions } from './plan.js';
export { applyHost } from './apply.js';
export type { ApplyHostContext, ApplyHostResult, CreatedToken } from './apply.js';
export { checkHost, assertHostReady } from './ready.js';
export type { CheckHostOptions, HostCheck } from './ready.js';
export { hostReport, renderHostReport, reportDiagnostics } from './report.js';
export type { HostReport, RenderReportOptions } from './report.js';
export { L0_CODES } from './item.js';
export type { HostItem, ItemKind, ItemStatus, L0Code } from './item.js';
