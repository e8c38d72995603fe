/**
 * @lab/l3-os — layer L3: converge a guest's operating system over SSH.
 *
 * observe → plan (pure) → apply → re-verify. Facts are read-only probes, all gathered in one
 * batched script over one connection (one round trip); operations turn the persona's `os:`
 * section plus facts into steps or noops with a reason. Apply re-plans each operation against
 * facts re-read in the same command as the previous change, records handlers on the guest
 * before the change that needs them, and ends by proving that nothing is left to change.
 *
 * The CLI wires `lab plan|check|apply --layer l3 --persona X` to `planOs`, `checkOs`, `applyOs`.
 */
export { planOs, checkOs, applyOs, forEachHost } from './api.js';
export type { OsInput, HostJob, HostOutcome } from './api.js';
export { applyL3, checkL3 } from './apply/apply.js';
export { observeL3, gatherFacts } from './observe.js';
export type { ApplyResult, CheckResult } from './apply/apply.js';
export type { RemoteHost, L3Context } from './observe.js';
export { planL3, planOperations, requiredFacts, factsBasisKey, L3_LAB_VERSION } from './plan.js';
export type { PlanL3Options, PlannedOperation } from './plan.js';
export { resolveOs, resolveRepository } from './resolve.js';
export { projectOs } from './projection.js';
export type { ResolveOptions, SecretSource } from './resolve.js';
export { renderL3Plan, planDiffs } from './render.js';
export { expandOperations } from './expand.js';
export { emptyIntent } from './intent.js';
export type {
  L3Intent,
  L3User,
  L3File,
  L3Line,
  L3Block,
  L3Service,
  L3Firewall,
  L3Mount,
  L3UnattendedUpgrades,
} from './intent.js';
export { FactSet, factKey } from './facts/fact.js';
export type { Fact } from './facts/fact.js';
export { FACTS, factFromKey } from './facts/registry.js';
export type { L3Change, Operation, OpResult, Step, HandlerId } from './ops/operation.js';
export { PENDING_FILE } from './ops/handlers.js';
export { L3_ERROR_CODES } from './errors.js';
export type { L3ErrorCode } from './errors.js';
