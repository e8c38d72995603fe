import { createInterface } from 'node:readline/promises';
import { writeFile } from 'node:fs/promises';
import { ExitCode, hasChanges, hasErrors, LabError, serializePlan, toLabError, type Plan } from '@lab/core';
import { mutateLayers as runMutation, type LayerRunArgs, type MutateOptions as EngineMutateOptions } from '@lab/engine/layer-verbs';
import type { CliContext } from './context.js';

/** Print a plan: JSON on stdout with --json, else the human rendering; optionally save it. */
export async function showPlan(ctx: CliContext, plan: Plan, out: string | undefined): Promise<void> {
  if (out) {
    await writeFile(out, serializePlan(plan));
    ctx.io.err(`saved the plan to ${out}; apply exactly it with \`lab apply ${out}\``);
  }
  if (ctx.json) ctx.io.out(serializePlan(plan));
  else ctx.reporter.emit({ type: 'plan', plan });
}

export function planExitCode(plan: Plan): number {
  if (hasErrors(plan.diagnostics)) return ExitCode.Error;
  return hasChanges(plan) ? ExitCode.Changes : ExitCode.Ok;
}

/** Ask on the terminal; without a terminal the operator must have said -y. */
export async function confirm(_ctx: CliContext, question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new LabError({
      code: 'LAB_CONFIRM_REQUIRED',
      summary: 'refusing to apply without confirmation (no terminal to ask on)',
      hint: 'review the plan, then pass -y (or save it with --out and run `lab apply <file>`)',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} Only 'yes' will be accepted: `)).trim();
    if (answer !== 'yes') throw new LabError({ code: 'LAB_APPLY_CANCELLED', summary: 'apply cancelled; nothing was changed' });
  } finally {
    rl.close();
  }
}

export interface MutateOptions extends Omit<EngineMutateOptions, 'onPlan' | 'confirm'> {
  /** Asked before anything changes, unless `yes`. */
  readonly question: string;
  readonly yes: boolean;
  /** Tell the operator it is done, once the run is journalled. */
  readonly done?: (plan: Plan) => void;
}

/**
 * `lab apply`, `lab destroy` and `lab reap` on the engine's one mutating path: show the plan,
 * ask, and turn the outcome into the exit code.
 */
export async function mutateLayers(ctx: CliContext, args: LayerRunArgs, options: MutateOptions): Promise<number> {
  const { question, yes, done, ...rest } = options;
  // With --json stdout is one document: a plan with changes is printed once the run has ended
  // (or, if it fails, inside the error document); a plan with nothing to do or with errors at once.
  let planned: Plan | undefined;
  const onPlan = async (plan: Plan): Promise<void> => {
    planned = plan;
    if (!ctx.json || hasErrors(plan.diagnostics) || !hasChanges(plan)) await showPlan(ctx, plan, undefined);
  };
  let r: Awaited<ReturnType<typeof runMutation>>;
  try {
    r = await runMutation(ctx, args, { ...rest, onPlan, confirm: () => confirm(ctx, question, yes) });
  } catch (error) {
    if (ctx.json && planned !== undefined && hasChanges(planned) && !hasErrors(planned.diagnostics)) {
      ctx.io.out(JSON.stringify({ ok: false, error: toLabError(error).toJSON(), plan: planned }, null, 2));
    }
    throw error;
  }
  if (r.outcome === 'errors') return ExitCode.Error;
  if (ctx.json && hasChanges(r.plan)) await showPlan(ctx, r.plan, undefined);
  if (r.outcome === 'done') done?.(r.plan);
  return ExitCode.Ok;
}
