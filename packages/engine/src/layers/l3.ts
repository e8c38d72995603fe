import { LabError, mergePlans, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { applyOs, checkOs, forEachHost } from '@lab/l3-os';
import type { LayerAdapter, LayerContext } from './adapter.js';
import { blame } from './blame.js';
import { guestConnection } from './guest-ssh.js';
import { guestParallelism } from './guest-parallelism.js';


function failures(outcomes: readonly { name: string; ok: boolean; error?: LabError }[]): void {
  const failed = outcomes.filter((o) => !o.ok).map((o) => ({ ...o, error: blame(o.error!, o.name, 'l3') }));
  if (failed.length === 0) return;
  if (failed.length === 1) throw failed[0]!.error;
  throw new LabError({
    code: 'LAB_L3_FAILED',
    summary: `L3 failed on ${failed.length} personas: ${failed.map((f) => f.name).join(', ')}`,
    diagnostics: failed.map((f) => ({ ...f.error.toDiagnostic(), summary: `${f.name}: ${f.error.summary}` })),
    hint: 'fix the first error and run the command again; the others may follow from it',
  });
}

function secretsOf(ctx: LayerContext) {
  return { get: (name: string) => ctx.secrets().get(name) };
}

/**
 * L3 through the CLI: one batched fact-gathering round trip per guest (`check`/`plan`), then
 * converge and re-verify each guest (`apply`), several guests at once, output grouped by persona.
 */
export const l3Adapter: LayerAdapter = {
  layer: 'l3',
  description: 'guest operating systems over SSH',
  async plan(ctx, mode) {
    const outcomes = await forEachHost(
      ctx.personas.map((p: LoadedPersona) => ({
        name: p.name,
        run: async () => {
          const connection = await guestConnection(ctx, p);
          const r = await checkOs({ persona: p.persona, root: ctx.lab.root, secrets: secretsOf(ctx), connection, reporter: ctx.reporter });
          return r.plan;
        },
      })),
      guestParallelism(ctx.lab.site.site),
    );
    failures(outcomes);
    const plans = outcomes.flatMap((o) => (o.ok ? [o.value as Plan] : []));
    return mergePlans(ctx.labVersion, plans, mode);
  },
  async apply(plan, ctx) {
    const touched = ctx.personas.filter((p) => plan.changes.some((c) => c.address.startsWith(`${p.name}/l3/`) && c.action !== 'noop'));
    const outcomes = await forEachHost(
      touched.map((p) => ({
        name: p.name,
        run: async () => {
          const connection = await guestConnection(ctx, p);
          const own = { ...plan, personas: [p.name], changes: plan.changes.filter((c) => c.address.startsWith(`${p.name}/l3/`)) };
          return applyOs({ persona: p.persona, root: ctx.lab.root, secrets: secretsOf(ctx), connection, reporter: ctx.reporter, plan: own });
        },
      })),
      guestParallelism(ctx.lab.site.site),
    );
    failures(outcomes);
  },
};
