import { LabError, hasErrors, redact, runStep, silentReporter, type Diagnostic, type Plan } from '@lab/core';
import { expandOperations } from '../expand.js';
import { uniqueFacts, type FactSet } from '../facts/fact.js';
import { factBatch } from '../facts/gather.js';
import type { L3Intent } from '../intent.js';
import type { L3Change } from '../ops/operation.js';
import { factsBasisKey, planL3, planOperations, requiredFacts } from '../plan.js';
import { Counter, gatherWith, type L3Context } from '../observe.js';
import { applyScript, STEP_MARK } from './_script.js';
import { describeAptStatus, isAptStatusLine, lineSplitter, parseAptStatusLine } from './_apt-status.js';
import { intentSecrets } from './_secrets.js';

export interface CheckResult {
  readonly plan: Plan;
  readonly facts: FactSet;
  readonly roundTrips: number;
  readonly durationMs: number;
}

/** Check mode: observe and plan, nothing else. Read-only by construction (facts only). */
export async function checkL3(intent: L3Intent, ctx: L3Context): Promise<CheckResult> {
  const t0 = performance.now();
  const counter = new Counter();
  const reporter = ctx.reporter ?? silentReporter;
  const group = ctx.group ?? intent.persona;
  const facts = await runStep(reporter, 'gather facts', () => gatherWith(ctx.host, requiredFacts(intent), counter), { group });
  const plan = planL3(intent, facts, { mode: 'check' });
  return { plan, facts, roundTrips: counter.n, durationMs: Math.round(performance.now() - t0) };
}

export interface ApplyResult {
  /** The plan against the facts found at the start. */
  readonly plan: Plan;
  /** Changes actually carried out (re-planned against fresh facts just before each). */
  readonly applied: readonly L3Change[];
  readonly diagnostics: readonly Diagnostic[];
  readonly roundTrips: number;
  readonly durationMs: number;
}

function stepTitle(opId: string, changes: readonly L3Change[]): string {
  const pending = changes.filter((c) => c.action !== 'noop');
  const local = (c: L3Change) => c.address.slice(c.address.indexOf('/l3/') + 4);
  if (pending.length === 1) return `${pending[0]!.action} ${local(pending[0]!)}`;
  return `${opId}: ${pending.map(local).join(', ')}`;
}

/** apt's records arrive by the dozen a second; the operator needs a few a second at most. */
const APT_PROGRESS_EVERY_MS = 250;

/**
 * Turns an apply script's stderr into progress: the step markers, and apt's status records
 * (package, phase, percentage) as they come (adr/0156).
 */
function progressLines(progress: (message: string, percent?: number) => void): (line: string) => void {
  let last = 0;
  return (line) => {
    if (line.startsWith(STEP_MARK)) {
      progress(line.slice(STEP_MARK.length).trim().replace(/^\d+ /, ''));
      last = 0;
      return;
    }
    if (line.startsWith('Waiting for cache lock')) {
      progress('apt: waiting for another package manager to release the dpkg lock');
      return;
    }
    const status = parseAptStatusLine(line);
    if (!status) return;
    const now = performance.now();
    if (status.kind !== 'error' && now - last < APT_PROGRESS_EVERY_MS) return;
    last = now;
    const d = describeAptStatus(status);
    progress(d.message, d.percent);
  };
}

function planInvalid(persona: string, diagnostics: readonly Diagnostic[]): LabError {
  return new LabError({
    code: 'LAB_L3_PLAN_INVALID',
    summary: `the L3 plan for ${persona} has errors; nothing was changed`,
    diagnostics: diagnostics.filter((d) => d.severity === 'error'),
    hint: 'fix the persona (or the guest) as each error says, then run again',
  });
}

/**
 * `applyL3(plan, ctx)`: observe, refuse a stale saved plan, then run the operations in order.
 * Each operation is re-planned against facts read right after the previous change (they come
 * back in the same remote command), so nothing acts on stale state. Handlers run last. Finally
 * every fact is read again and must plan to zero changes, else `LAB_L3_NOT_IDEMPOTENT`.
 */
export async function applyL3(saved: Plan | undefined, intent: L3Intent, ctx: L3Context): Promise<ApplyResult> {
  const t0 = performance.now();
  const reporter = ctx.reporter ?? silentReporter;
  const group = ctx.group ?? intent.persona;
  const counter = new Counter();
  const secrets = intentSecrets(intent);
  const ops = expandOperations(intent);

  reporter.emit({ type: 'phase', name: 'observe', persona: intent.persona, layer: 'l3' });
  let facts = await runStep(reporter, 'gather facts', () => gatherWith(ctx.host, uniqueFacts(ops.flatMap((o) => o.facts)), counter), { group });
  const key = factsBasisKey(intent.persona);
  if (saved && saved.basis[key] !== undefined && saved.basis[key] !== facts.digest()) {
    throw new LabError({
      code: 'LAB_PLAN_STALE',
      summary: `saved plan is stale: ${intent.persona}'s guest changed since the plan was made`,
      detail: `plan basis ${saved.basis[key]}, guest now ${facts.digest()}`,
      hint: `make a new plan: lab plan --layer l3 --persona ${intent.persona} --out plan.json`,
    });
  }
  const plan = planL3(intent, facts);
  if (hasErrors(plan.diagnostics)) throw planInvalid(intent.persona, plan.diagnostics);
  reporter.emit({ type: 'plan', plan });

  reporter.emit({ type: 'phase', name: 'apply', persona: intent.persona, layer: 'l3' });
  const applied: L3Change[] = [];
  const diagnostics: Diagnostic[] = [...plan.diagnostics];
  for (const [i, op] of ops.entries()) {
    const r = op.plan(facts);
    if (r.diagnostics && hasErrors(r.diagnostics)) throw planInvalid(intent.persona, r.diagnostics);
    if (r.steps.length === 0) continue;
    const later = factBatch(uniqueFacts(ops.slice(i + 1).flatMap((o) => o.facts)));
    const script = applyScript(r.steps, r.notify ?? [], later);
    const pending = r.changes.filter((c) => c.action !== 'noop');
    const first = pending[0]?.address;
    const res = await runStep(
      reporter,
      stepTitle(op.id, r.changes),
      async (progress) => {
        counter.n += 1;
        const out = await ctx.host.script(script, {
          sudo: true,
          secrets,
          label: `${op.id} (${stepTitle(op.id, r.changes)})`,
          onStderr: lineSplitter(progressLines(progress)),
        });
        if (out.code !== 0) {
          const tail = redact(out.stderr, secrets)
            .split('\n')
            .filter((l) => l && !l.startsWith(STEP_MARK) && !isAptStatusLine(l))
            .slice(-15)
            .join('\n');
          throw new LabError({
            code: 'LAB_L3_STEP_FAILED',
            summary: `${op.id} failed on ${ctx.host.label} (exit ${out.code ?? 'none'})`,
            detail: tail,
            ...(first ? { address: first } : {}),
            hint: 'fix the cause shown above and run apply again; operations before this one are done and will be no-ops',
          });
        }
        return out;
      },
      { group, ...(first ? { address: first } : {}) },
    );
    facts = facts.merge(later.parse(res.stdout).facts);
    applied.push(...pending);
  }

  reporter.emit({ type: 'phase', name: 'verify', persona: intent.persona, layer: 'l3' });
  const after = await runStep(reporter, 're-verify', () => gatherWith(ctx.host, uniqueFacts(ops.flatMap((o) => o.facts)), counter), { group });
  const { planned } = planOperations(intent, after);
  const left = planned.flatMap((p) => p.changes.filter((c) => c.action !== 'noop').map((c) => ({ op: p.op.id, change: c })));
  if (left.length > 0) {
    throw new LabError({
      code: 'LAB_L3_NOT_IDEMPOTENT',
      summary: `after apply, ${left.length} change(s) remain on ${intent.persona}: ${[...new Set(left.map((l) => l.op))].join(', ')} did not converge`,
      detail: left.map((l) => `${l.change.address}: ${l.change.diff.map((d) => `${d.path} ${JSON.stringify(d.before)} → ${JSON.stringify(d.after)}`).join(', ') || l.change.reason || l.change.action}`).join('\n'),
      address: left[0]!.change.address,
      hint: 'this operation is not idempotent on this guest; please report it with this output (lab apply stays safe to re-run)',
    });
  }
  return { plan, applied, diagnostics, roundTrips: counter.n, durationMs: Math.round(performance.now() - t0) };
}
