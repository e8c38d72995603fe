import { LabError, mergePlans, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { applyWorkloads, observeWorkloads, planWorkloads, renderWorkloads } from '@lab/l4-workload';
import type { LayerAdapter, LayerContext } from './adapter.js';
import { guestConnection } from './guest-ssh.js';

function secretsOf(ctx: LayerContext) {
  return { get: (name: string) => ctx.secrets().get(name) };
}

async function planOne(ctx: LayerContext, p: LoadedPersona, mode: Plan['mode']): Promise<Plan> {
  const { desired, warnings } = await renderWorkloads({ persona: p, root: ctx.lab.root, secrets: secretsOf(ctx), imageOverrides: ctx.lab.site.site.workloads.imageOverrides });
  const connection = await guestConnection(ctx, p);
  const observed = await observeWorkloads({ connection, stacksDir: desired.stacksDir, composeCommand: desired.composeCommand });
  return planWorkloads(desired, observed, { mode, labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData, warnings });
}

/**
 * L4 through the CLI: per persona, render and validate the stacks, observe the guest in one
 * round trip (through the jump host, pinned host keys, `ssh.user`), plan; apply writes
 * releases, brings stacks up behind the health gate and re-verifies. Personas run one after
 * another: a failed health gate stops the run with the rollback reported.
 */
export const l4Adapter: LayerAdapter = {
  layer: 'l4',
  description: 'Docker Compose workloads in the guests',
  async plan(ctx, mode) {
    const withStacks = ctx.personas.filter((p) => p.persona.workloads.stacks.length > 0);
    const plans: Plan[] = [];
    for (const p of withStacks) plans.push(await planOne(ctx, p, mode));
    return mergePlans(ctx.labVersion, plans, mode);
  },
  async apply(plan, ctx) {
    const touched = ctx.personas.filter((p) => plan.changes.some((c) => c.address.startsWith(`${p.name}/l4/`) && c.action !== 'noop'));
    const failures: LabError[] = [];
    for (const p of touched) {
      const { desired } = await renderWorkloads({ persona: p, root: ctx.lab.root, secrets: secretsOf(ctx), imageOverrides: ctx.lab.site.site.workloads.imageOverrides });
      const connection = await guestConnection(ctx, p);
      const own = { ...plan, personas: [p.name], changes: plan.changes.filter((c) => c.address.startsWith(`${p.name}/l4/`)) };
      try {
        await applyWorkloads({ desired, plan: own, connection, reporter: ctx.reporter, labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData });
      } catch (error) {
        if (!(error instanceof LabError)) throw error;
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0]!;
    if (failures.length > 1) {
      throw new LabError({ code: 'LAB_L4_FAILED', summary: `L4 failed on ${failures.length} personas`, diagnostics: failures.map((f) => f.toDiagnostic()), hint: 'fix the first error and run apply again' });
    }
  },
};
