import { createInterface } from 'node:readline/promises';
import { writeFile } from 'node:fs/promises';
import {
  ExitCode,
  hasChanges,
  hasErrors,
  LabError,
  mergePlans,
  serializePlan,
  type Layer,
  type Plan,
  type PlanMode,
} from '@lab/core';
import { loadLab, type Lab } from '@lab/intent';
import type { CliContext } from '../context.js';
import { LAB_VERSION } from '../version.js';
import type { LayerAdapter, LayerFlags } from './adapter.js';
import { createLayerContext, type LayerSession } from './context.js';
import { loadLayer } from './registry.js';
import { selectLayers, selectPersonas } from './select.js';

/** Site layers act on the host and the image catalogue, so they need no persona. */
const SITE_LAYERS: readonly Layer[] = ['l0', 'l1'];

export interface LayerRunArgs {
  readonly layer?: string;
  readonly persona?: string;
  readonly all?: boolean;
  readonly target?: string;
  readonly image?: string;
  readonly 'allow-reboot'?: boolean;
  readonly 'destroy-data'?: boolean;
}

export interface Prepared {
  readonly lab: Lab;
  readonly adapters: readonly LayerAdapter[];
  readonly session: LayerSession;
}

export async function prepare(ctx: CliContext, args: LayerRunArgs): Promise<Prepared> {
  const lab = await loadLab(ctx.root());
  const layers = selectLayers(args.layer);
  if (layers.length === 0) {
    throw new LabError({ code: 'LAB_LAYER_UNAVAILABLE', summary: 'no layer is available in this version of lab', hint: 'upgrade lab' });
  }
  const needsPersona = layers.some((l) => !SITE_LAYERS.includes(l));
  const personas = selectPersonas(lab, args.persona, args.all === true, needsPersona);
  const flags: LayerFlags = {
    allowReboot: args['allow-reboot'] === true,
    destroyData: args['destroy-data'] === true,
    targets: args.target ? args.target.split(',').map((t) => t.trim()) : [],
    ...(args.image ? { images: args.image.split(',').map((t) => t.trim()) } : {}),
  };
  const adapters = (await Promise.all(layers.map((l) => loadLayer(l)))).filter((a): a is LayerAdapter => a !== undefined);
  return { lab, adapters, session: createLayerContext(lab, personas, ctx.reporter, flags) };
}

/**
 * Plan every selected layer in order. A layer whose plan carries errors stops the run: later
 * layers would build on a host or image that is not there (L1–L4 refuse a failed L0).
 */
export async function planLayers(p: Prepared, mode: PlanMode): Promise<Plan> {
  const plans: Plan[] = [];
  for (const adapter of p.adapters) {
    p.session.reporter.emit({ type: 'phase', name: `plan ${adapter.layer}`, layer: adapter.layer });
    const plan = await adapter.plan(p.session, mode);
    plans.push(plan);
    if (hasErrors(plan.diagnostics)) break;
  }
  return mergePlans(LAB_VERSION, plans, mode);
}

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
export async function confirm(ctx: CliContext, question: string, yes: boolean): Promise<void> {
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

/** Apply the part of `plan` that belongs to each adapter, in layer order. */
export async function applyLayers(p: Prepared, plan: Plan): Promise<void> {
  for (const adapter of p.adapters) {
    const changes = plan.changes.filter((c) => c.layer === adapter.layer);
    if (!changes.some((c) => c.action !== 'noop')) continue;
    p.session.reporter.emit({ type: 'phase', name: `apply ${adapter.layer}`, layer: adapter.layer });
    await adapter.apply({ ...plan, layers: [adapter.layer], changes }, p.session);
  }
}
