import { ExitCode, hasChanges, hasErrors, type Plan, type PlanMode } from '@lab/core';
import type { CliContext } from '../context.js';
import type { JournalRun } from '../journal/contract.js';
import { beginLayerRun } from '../journal/layer-run.js';
import { applyLayers, confirm, planLayers, prepare, showPlan, type LayerRunArgs, type Prepared } from './run.js';

export interface MutateOptions {
  /** The verb journalled for the run. */
  readonly command: 'apply' | 'destroy' | 'reap';
  /** `destroy` plans and applies the selected layers last first. */
  readonly mode: Exclude<PlanMode, 'check'>;
  /** Asked before anything changes, unless `yes`. */
  readonly question: string;
  readonly yes: boolean;
  /** Apply the confirmed plan; default: each layer in turn. */
  readonly apply?: (p: Prepared, plan: Plan) => Promise<void>;
  /** Added to the journal line of the run. */
  readonly details?: JournalRun['details'];
  /**
   * Journal the run even when the plan had nothing to change: `lab reap` needs that line (the
   * journal then knows the VM is gone); otherwise a no-op stays out of the changelog.
   */
  readonly journalNoop?: boolean;
  /** Tell the operator it is done, once the run is journalled. */
  readonly done?: (plan: Plan) => void;
}

/**
 * The one path of `lab apply`, `lab destroy` and `lab reap`: plan the selected layers, show the
 * plan, confirm, apply it and journal the run (a failure too). Resolves to the exit code.
 */
export async function mutateLayers(ctx: CliContext, args: LayerRunArgs, options: MutateOptions): Promise<number> {
  const p = await prepare(ctx, args);
  const ordered = options.mode === 'destroy' ? { ...p, adapters: [...p.adapters].reverse() } : p;
  const run = beginLayerRun(options.command, ctx, p);
  try {
    const plan = await planLayers(ordered, options.mode);
    run.usePlan(plan);
    await showPlan(ctx, plan, undefined);
    if (hasErrors(plan.diagnostics)) {
      await run.failed();
      return ExitCode.Error;
    }
    if (hasChanges(plan)) {
      await confirm(ctx, options.question, options.yes);
      await (options.apply ?? applyLayers)(ordered, plan);
    } else if (!options.journalNoop) {
      return ExitCode.Ok;
    }
    await run.ok(options.details);
    options.done?.(plan);
    return ExitCode.Ok;
  } catch (error) {
    await run.failed(error);
    throw error;
  } finally {
    await p.session.close();
  }
}
