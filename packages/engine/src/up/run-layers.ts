import { noteScope } from './projection.js';
import { hasChanges, hasErrors, LabError, toLabError, type Change, type Diagnostic, type Layer, type Plan, type Reporter } from '@lab/core';

/** One layer as `lab up`/`lab down` drive it: planned against the world as it is now, then applied. */
export interface LayerStep {
  readonly layer: Layer;
  readonly description: string;
  /** Runs before the layer is planned (wait for guests created by an earlier layer). */
  readonly before?: () => Promise<void>;
  plan(): Promise<Plan>;
  apply(plan: Plan): Promise<void>;
}

export type LayerStatus = 'applied' | 'unchanged' | 'failed' | 'not-run' | 'skipped';

export interface LayerOutcome {
  readonly layer: Layer;
  readonly description: string;
  readonly status: LayerStatus;
  /** Pending changes of the layer's own plan (applied, or being applied when it failed). */
  readonly changes: number;
  readonly durationMs: number;
  readonly reason?: string;
  readonly error?: { readonly code: string; readonly summary: string };
}

export interface LayersRun {
  readonly outcomes: readonly LayerOutcome[];
  /** The plan of every layer that was applied, in order (for the journal). */
  readonly applied: readonly Plan[];
  /** Set when a layer failed; later layers did not run. */
  readonly error?: LabError;
}

const DESTRUCTIVE = (c: Change) => c.action === 'delete' || c.action === 'replace' || c.impact === 'data-loss' || c.impact === 'recreate';

/**
 * A layer is planned again right before it applies, because earlier layers moved the world.
 * Anything that destroys (delete, replace, recreate, data loss) must have been in the plan the
 * operator confirmed, at the same address with the same action; otherwise the run stops here.
 * One exception: the guest of a VM this run creates was planned from intent against an empty
 * guest, and only its template shows what is really there (a package the persona removes that
 * the baked template holds). Converging a brand-new machine destroys nothing of the operator's,
 * so there only a data-loss change must have been confirmed.
 */
export function unconfirmed(fresh: Plan, confirmed: Plan): Change[] {
  const projected = confirmed.diagnostics
    .filter((d) => d.code === 'LAB_UP_FROM_INTENT')
    .map(noteScope)
    .filter((s) => s !== undefined)
    .map((s) => `${s.persona}/${s.layer}/`);
  const newGuest = (c: Change) => c.impact !== 'data-loss' && projected.some((prefix) => c.address.startsWith(prefix));
  return fresh.changes.filter((c) => c.action !== 'noop' && DESTRUCTIVE(c) && !newGuest(c) && !confirmed.changes.some((k) => k.address === c.address && k.action === c.action));
}

const pending = (plan: Plan) => plan.changes.filter((c) => c.action !== 'noop').length;

function planErrors(step: LayerStep, plan: Plan): LabError {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  return new LabError({ code: 'LAB_PLAN_INVALID', summary: `the ${step.layer.toUpperCase()} plan has ${errors.length} error${errors.length === 1 ? '' : 's'}`, diagnostics: errors });
}

function moved(step: LayerStep, changes: readonly Change[]): LabError {
  const diagnostics: Diagnostic[] = changes.map((c) => ({ severity: 'error', code: 'LAB_UP_PLAN_MOVED', summary: `${c.address}: ${c.action} (${c.impact}) was not in the confirmed plan`, address: c.address }));
  return new LabError({
    code: 'LAB_UP_PLAN_MOVED',
    summary: `planned again before applying, ${step.layer.toUpperCase()} now destroys or recreates what the confirmed plan did not show`,
    diagnostics,
    hint: 'run the command again to review the new plan',
  });
}

/** `L0 (3 changes)`, `L1 (nothing to change)`. */
function describeDone(o: LayerOutcome): string {
  return `${o.layer.toUpperCase()} (${o.status === 'applied' ? `${o.changes} change${o.changes === 1 ? '' : 's'} applied` : 'nothing to change'})`;
}

/** The error a stopped run ends with: which layer, the cause, what was applied before, how to resume. */
export function stoppedAt(verb: string, step: LayerStep, cause: LabError, done: readonly LayerOutcome[], resume: string): LabError {
  const before = done.filter((o) => o.status === 'applied' || o.status === 'unchanged');
  return new LabError({
    code: `LAB_${verb.toUpperCase()}_FAILED`,
    summary: `lab ${verb} stopped at ${step.layer.toUpperCase()} (${step.description}): [${cause.code}] ${cause.summary}`,
    detail: [cause.detail, before.length > 0 ? `done before it: ${before.map(describeDone).join(', ')}` : 'nothing was applied before it'].filter(Boolean).join('\n'),
    hint: `${cause.hint ? `${cause.hint}; then ` : 'fix the cause, then '}resume with \`${resume}\` (safe: every step is idempotent, finished layers plan no changes)`,
    diagnostics: cause.diagnostics,
    cause,
  });
}

/**
 * Plan and apply each layer in order. A failure stops the run: the layers after it are
 * reported as not run, and the error says what was done and how to resume.
 */
export async function runLayers(steps: readonly LayerStep[], confirmed: Plan, reporter: Reporter, verb: string, resume: string): Promise<LayersRun> {
  const outcomes: LayerOutcome[] = [];
  const applied: Plan[] = [];
  for (const [i, step] of steps.entries()) {
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    let changes = 0;
    reporter.emit({ type: 'phase', name: `${verb} ${step.layer}`, layer: step.layer });
    try {
      await step.before?.();
      const plan = await step.plan();
      if (hasErrors(plan.diagnostics)) throw planErrors(step, plan);
      const notShown = unconfirmed(plan, confirmed);
      if (notShown.length > 0) throw moved(step, notShown);
      changes = pending(plan);
      reporter.emit({ type: 'log', level: 'info', message: `${step.layer.toUpperCase()} planned again against the lab as it is now: ${changes === 0 ? 'nothing to change' : `${changes} change${changes === 1 ? '' : 's'}`}` });
      if (!hasChanges(plan)) {
        outcomes.push({ layer: step.layer, description: step.description, status: 'unchanged', changes: 0, durationMs: ms() });
        continue;
      }
      await step.apply(plan);
      applied.push(plan);
      outcomes.push({ layer: step.layer, description: step.description, status: 'applied', changes, durationMs: ms() });
    } catch (thrown) {
      const cause = toLabError(thrown);
      outcomes.push({ layer: step.layer, description: step.description, status: 'failed', changes, durationMs: ms(), error: { code: cause.code, summary: cause.summary } });
      for (const rest of steps.slice(i + 1)) outcomes.push({ layer: rest.layer, description: rest.description, status: 'not-run', changes: 0, durationMs: 0 });
      return { outcomes, applied, error: stoppedAt(verb, step, cause, outcomes.slice(0, -1), resume) };
    }
  }
  return { outcomes, applied };
}
