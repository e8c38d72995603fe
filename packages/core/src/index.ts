/**
 * @lab/core — the shared vocabulary of every layer: Address, Change, Plan, Impact, Diagnostic,
 * LabError, Reporter and Secret. Layers never import each other; they meet here.
 */
export { address, parseAddress, isAddress, LAYERS, SITE_SCOPE } from './address.js';
export type { Address, AddressParts, Layer } from './address.js';
export { formatDiagnostic, formatSource, hasErrors } from './diagnostic.js';
export type { Diagnostic, Severity, SourceLocation } from './diagnostic.js';
export { LabError, isLabError, toLabError } from './errors.js';
export type { LabErrorOptions } from './errors.js';
export { Secret, SECRET_MASK, isSecret, redact } from './secret.js';
export { IMPACTS, impactRank, worstImpact, isImpact } from './impact.js';
export type { Impact } from './impact.js';
export { ACTIONS, isPending } from './change.js';
export type { Action, Change, FieldDiff, StepSummary } from './change.js';
export {
  PLAN_FORMAT_VERSION,
  createPlan,
  mergePlans,
  summarizePlan,
  hasChanges,
  worstPlanImpact,
  serializePlan,
  parsePlan,
} from './plan.js';
export type { Plan, PlanInit, PlanMode, PlanBasis, PlanSummary } from './plan.js';
export { renderPlan, renderSummaryLine, formatValue } from './render-plan.js';
export { PLAN_DETAIL_LINES, renderPlanView } from './render-plan-summary.js';
export type { RenderPlanViewOptions } from './render-plan-summary.js';
export type { RenderPlanOptions } from './render-plan.js';
export { ExitCode } from './exit-codes.js';
export type { ReporterEvent, TimedEvent, Reporter, StepStatus, LogLevel } from './reporter/events.js';
export { fanout, createMemoryReporter, silentReporter, runStep } from './reporter/reporter.js';
export type { MemoryReporter, StepOptions } from './reporter/reporter.js';
export { createNdjsonReporter } from './reporter/ndjson.js';
export type { WritableLike, NdjsonReporterOptions } from './reporter/ndjson.js';
export { createHumanReporter, formatMs } from './reporter/human.js';
export type { HumanReporterOptions } from './reporter/human.js';
export { colorWanted } from './_style.js';
export { installLoopbackGuard, isLoopbackDestination } from './loopback-guard.js';
export { gitHead, gitDirty } from './git.js';
