import { hasChanges, hasErrors, type Plan, type PlanMode } from '@lab/core';
import type { EngineEnv } from '../env.js';
import type { JournalRun } from '../journal/contract.js';
import { beginLayerRun } from '../journal/layer-run.js';
import { applyLayers, planLayers, prepare, type LayerRunArgs, type Prepared } from './run.js';

export interface MutateOptions {
  /** The verb journalled for the run. */
  readonly command: 'apply' | 'destroy' | 'reap';
  /** `destroy` plans and applies the selected layers last first. */
  readonly mode: Exclude<PlanMode, 'check'>;
  /** Called with the plan as soon as it is known (the CLI shows it). */
  readonly onPlan?: (plan: Plan) => Promise<void> | void;
  /** Called before anything changes; throws to stop (the CLI asks the operator). */
  readonly confirm: (plan: Plan) => Promise<void>;
  /** Apply the confirmed plan; default: each layer in turn. */
  readonly apply?: (p: Prepared, plan: Plan) => Promise<void>;
  /** Added to the journal line of the run. */
  readonly details?: JournalRun['details'];
  /**
   * Journal the run even when the plan had nothing to change: `lab reap` needs that line (the
   * journal then knows the VM is gone); otherwise a no-op stays out of the changelog.
   */
  readonly journalNoop?: boolean;
}

/** How a mutating run ended: the plan had errors, had nothing to change, or was applied and journalled. */
export interface MutateResult {
  readonly plan: Plan;
  readonly outcome: 'errors' | 'unchanged' | 'done';
}

/**
 * The one path of `lab apply`, `lab destroy` and `lab reap`: plan the selected layers, hand the
 * plan to the caller, confirm, apply it and journal the run (a failure too).
 */
export async function mutateLayers(env: EngineEnv, args: LayerRunArgs, options: MutateOptions): Promise<MutateResult> {
  const p = await prepare(env, args);
  const ordered = options.mode === 'destroy' ? { ...p, adapters: [...p.adapters].reverse() } : p;
  const run = beginLayerRun(options.command, env, p);
  try {
    const plan = await planLayers(ordered, options.mode);
    run.usePlan(plan);
    await options.onPlan?.(plan);
    if (hasErrors(plan.diagnostics)) {
      await run.failed();
      return { plan, outcome: 'errors' };
    }
    if (hasChanges(plan)) {
      await options.confirm(plan);
      await (options.apply ?? applyLayers)(ordered, plan);
    } else if (!options.journalNoop) {
      return { plan, outcome: 'unchanged' };
    }
    await run.ok(options.details);
    return { plan, outcome: 'done' };
  } catch (error) {
    await run.failed(error);
    throw error;
  } finally {
    await p.session.close();
  }
}
