/**
 * @lab/l3-os — layer L3: converge a guest's operating system over SSH.
 */
export { applyL3, checkL3, observeL3, gatherFacts } from './apply/apply.js';
export type { RemoteHost, L3Context, ApplyResult, CheckResult } from './apply/apply.js';
export { planL3, planOperations, requiredFacts, factsBasisKey } from './plan.js';
export { expandOperations } from './expand.js';
export { emptyIntent } from './intent.js';
export type { L3Intent } from './intent.js';
export { FactSet, factKey } from './facts/fact.js';
export type { Fact } from './facts/fact.js';
