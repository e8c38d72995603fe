import { defineCommand } from 'citty';
import { ExitCode, hasChanges, hasErrors, LabError, mergePlans } from '@lab/core';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { beginRun, GUEST_LAYERS, guestReach, LAB_VERSION, LAYER_ORDER, type LayerOutcome, type LayersRun, type LayerStep, layerTitle, loadLayer, planDown, planUp, prepare, type Prepared, refuseProtected, renderOutcomes, runLayers, type RunRecorder, showPreview, totalLine, type UpPreview, waitForGuests, withoutUnreachableGuests } from '@lab/engine';
import { confirm } from '../layer-verbs.js';

const args = {
  ...globalArgs,
  persona: { type: 'string', description: 'Only these personas (comma-separated); default: every persona', valueHint: 'name' },
  all: { type: 'boolean', description: 'Every persona', default: false },
  yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
  'break-lock': { type: 'boolean', description: 'Take over persona locks held by another lab process, even one on another host (L2)', default: false },
} as const;

type Args = { readonly root?: string; readonly persona?: string; readonly all?: boolean; readonly layer?: string };

/** The command that picks up where a stopped run left off (the same scope, asked again). */
function resumeCommand(verb: string, a: Args): string {
  const scope = a.persona ? ` --persona ${a.persona}` : a.all ? ' --all' : '';
  return `lab ${verb}${scope}${a.layer ? ` --layer ${a.layer}` : ''}${a.root ? ` --root ${a.root}` : ''}`;
}

/** Human lines on stderr; with --json the document on stdout carries the same. */
function say(ctx: CliContext, text: string): void {
  if (!ctx.json) ctx.io.err(text);
}

/** Started before planning, so the secrets the run reads are masked; written only once something was attempted. */
export function recorder(verb: 'up' | 'down' | 'reap', ctx: CliContext, p: Prepared, layers: readonly string[]): RunRecorder {
  const run = beginRun(verb, { root: p.lab.root, reporter: ctx.reporter, personas: p.session.personas.map((x) => x.name), layers });
  run.track(p.session);
  return run;
}

/** `--json`: one document on stdout at the end, whatever happened. */
function printJson(ctx: CliContext, preview: UpPreview, run: LayersRun | undefined): void {
  if (!ctx.json) return;
  const doc = {
    ok: run?.error === undefined && !hasErrors(preview.plan.diagnostics),
    plan: preview.plan,
    projected: Object.fromEntries(preview.layers.filter((l) => l.projected.length > 0).map((l) => [l.layer, l.projected])),
    skipped: preview.skipped,
    layers: run?.outcomes ?? [],
    ...(run?.error ? { error: run.error.toJSON() } : {}),
  };
  ctx.io.out(JSON.stringify(doc, null, 2));
}

/**
 * Shared tail of up and down: show the combined plan, stop on errors or when there is nothing
 * to do, ask, run the layers (each planned again right before it applies), report per layer,
 * journal the run.
 */
export interface DriveOptions {
  /** Journalled with the outcome. */
  readonly details?: Record<string, string | number | boolean>;
  /** Journal the run even when nothing was left to change (`lab reap`: the journal then knows the VM is gone). */
  readonly journalNoop?: boolean;
  readonly question?: string;
}

export async function drive(ctx: CliContext, verb: 'up' | 'down' | 'reap', journal: RunRecorder, preview: UpPreview, steps: readonly LayerStep[], a: Args & { readonly yes?: boolean }, options: DriveOptions = {}): Promise<number> {
  const t0 = journal.startedAt.getTime();
  showPreview(ctx.reporter, preview.layers, preview.skipped);
  if (hasErrors(preview.plan.diagnostics)) {
    say(ctx, `lab ${verb}: the plan has errors; nothing was changed.`);
    printJson(ctx, preview, undefined);
    return ExitCode.Error;
  }
  say(ctx, totalLine(verb, preview.plan));
  if (!hasChanges(preview.plan)) {
    if (options.journalNoop) await journal.ok(options.details);
    printJson(ctx, preview, undefined);
    return ExitCode.Ok;
  }
  await confirm(ctx, options.question ?? (verb === 'up' ? 'Bring the lab up with these changes?' : 'Take these personas down?'), a.yes === true);
  const run = await runLayers(steps, preview.plan, ctx.reporter, verb, resumeCommand(verb, a));
  const skippedRows: LayerOutcome[] = preview.skipped.map((x) => ({ layer: x.layer, description: layerTitle(x.layer), status: 'skipped', changes: 0, durationMs: 0, reason: x.reason }));
  // Teardowns run last layer first; capture (not one of LAYER_ORDER) keeps its place in the run.
  const rank = (o: LayerOutcome) => (o.layer === 'capture' ? LAYER_ORDER.indexOf('l3') : LAYER_ORDER.indexOf(o.layer));
  const order = (o: LayerOutcome) => rank(o) * (verb === 'up' ? 1 : -1);
  const rows = [...run.outcomes, ...skippedRows].sort((x, y) => order(x) - order(y));
  say(ctx, renderOutcomes(verb, rows, Date.now() - t0));
  if (run.applied.length > 0) journal.usePlan(mergePlans(LAB_VERSION, run.applied, preview.plan.mode));
  const details = { ...options.details, changes: run.outcomes.reduce((n, o) => n + (o.status === 'applied' ? o.changes : 0), 0), appliedLayers: run.outcomes.filter((o) => o.status === 'applied').map((o) => o.layer).join(',') };
  if (run.error) await journal.failed(run.error, details);
  else await journal.ok(details);
  printJson(ctx, preview, run);
  if (run.error) {
    ctx.io.err(run.error.format());
    return ExitCode.Error;
  }
  return ExitCode.Ok;
}

export const upCommand = defineCommand({
  meta: { name: 'up', description: 'Bring the lab up: one plan across L0 → L4, then each layer planned again and applied in order' },
  args: {
    ...args,
    layer: { type: 'string', description: 'Only these layers (default: every layer, in order), e.g. l0,l1,l2,l3', valueHint: 'layers' },
    'allow-reboot': { type: 'boolean', description: 'Apply changes that need a reboot, and reboot', default: false },
  },
  async run({ args: a }) {
    const ctx = createContext(a);
    // Bringing everything up is the point of `up`: no persona flag means every persona.
    const p0 = await prepare(ctx, { ...a, all: a.all || a.persona === undefined });
    try {
      const wantsGuests = p0.adapters.some((x) => GUEST_LAYERS.includes(x.layer));
      const reach = wantsGuests ? await guestReach(p0.lab) : { ok: true };
      if (!reach.ok && a.layer && p0.adapters.every((x) => GUEST_LAYERS.includes(x.layer))) {
        throw new LabError({ code: 'LAB_UP_NO_GUESTS', summary: `cannot bring up ${a.layer}: ${reach.reason}`, ...(reach.hint ? { hint: reach.hint } : {}) });
      }
      const { prepared: p, skipped } = withoutUnreachableGuests(p0, reach);
      const journal = recorder('up', ctx, p, p.adapters.map((x) => x.layer));
      const preview = await planUp(p, skipped);
      // Every guest a guest layer acts on, not only those L2 just created: a guest created by
      // an earlier, interrupted run may still be in its first boot (cloud-init holding apt's lock).
      const guestsOf = (layer: string) => p.session.personas.filter((x) => layer !== 'l4' || x.persona.workloads.stacks.length > 0);
      const steps: LayerStep[] = p.adapters.map((adapter) => ({
        layer: adapter.layer,
        description: preview.layers.find((l) => l.layer === adapter.layer)?.description ?? adapter.layer,
        ...(GUEST_LAYERS.includes(adapter.layer) ? { before: () => waitForGuests(p.session, guestsOf(adapter.layer), ctx.reporter) } : {}),
        plan: () => adapter.plan(p.session, 'normal'),
        apply: (plan) => adapter.apply(plan, p.session),
      }));
      return await drive(ctx, 'up', journal, preview, steps, a);
    } finally {
      await p0.session.close();
    }
  },
});

export const downCommand = defineCommand({
  meta: { name: 'down', description: 'Take personas down: stacks, then VMs (L4 → L2; L0/L1 stay; data disks and volumes kept unless --destroy-data)' },
  args: {
    ...args,
    persona: { type: 'string', description: 'The personas to take down (comma-separated)', valueHint: 'name' },
    'destroy-data': { type: 'boolean', description: 'Also delete persistent data disks and stack volumes', default: false },
  },
  async run({ args: a }) {
    const ctx = createContext(a);
    if (!a.persona && !a.all) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: 'down needs --persona <name> (or --all)', hint: 'lab down --persona tinker' });
    }
    const p = await prepare(ctx, { ...a, layer: 'l2' });
    try {
      refuseProtected(p.session.personas);
      const l2 = await loadLayer('l2');
      if (!l2) throw new LabError({ code: 'LAB_LAYER_UNAVAILABLE', summary: 'layer l2 is not part of this version of lab', hint: 'upgrade lab' });
      const reach = await guestReach(p.lab);
      const journal = recorder('down', ctx, p, ['l4', 'l2']);
      const { preview, steps } = await planDown(p, l2, reach);
      return await drive(ctx, 'down', journal, preview, steps, a);
    } finally {
      await p.session.close();
    }
  },
});
