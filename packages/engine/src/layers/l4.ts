import { LabError, mergePlans, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { applyWorkloads, dockerImageSource, imagesOfStack, observeWorkloads, planWorkloads, renderWorkloads, type DesiredWorkloads, type WorkstationImages } from '@lab/l4-workload';
import type { LayerAdapter, LayerContext } from './adapter.js';
import { blame } from './blame.js';
import { guestConnection } from './guest-ssh.js';

function secretsOf(ctx: LayerContext) {
  return { get: (name: string) => ctx.secrets().get(name) };
}

function render(ctx: LayerContext, p: LoadedPersona) {
  const w = ctx.lab.site.site.workloads;
  return renderWorkloads({ persona: p, root: ctx.lab.root, secrets: secretsOf(ctx), imageOverrides: w.imageOverrides, imageDelivery: w.imageDelivery, allowStandIns: w.allowStandIns });
}

/** imageDelivery: push — what this workstation's Docker engine holds of the images the stacks run (adr/0150). */
async function workstationImages(desired: DesiredWorkloads): Promise<WorkstationImages | undefined> {
  if (desired.imageDelivery !== 'push') return undefined;
  return dockerImageSource().inspect([...new Set(desired.stacks.flatMap(imagesOfStack))]);
}

async function planOne(ctx: LayerContext, p: LoadedPersona, mode: Plan['mode']): Promise<Plan> {
  const { desired, warnings } = await render(ctx, p);
  const connection = await guestConnection(ctx, p);
  const observed = await observeWorkloads({ connection, stacksDir: desired.stacksDir, composeCommand: desired.composeCommand });
  const images = await workstationImages(desired);
  return planWorkloads(desired, observed, { mode, labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData, warnings, ...(images ? { workstationImages: images } : {}) });
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
      const { desired } = await render(ctx, p);
      const connection = await guestConnection(ctx, p);
      const own = { ...plan, personas: [p.name], changes: plan.changes.filter((c) => c.address.startsWith(`${p.name}/l4/`)) };
      try {
        const images = await workstationImages(desired);
        await applyWorkloads({ desired, plan: own, connection, reporter: ctx.reporter, labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData, ...(images ? { images: dockerImageSource(), workstationImages: images } : {}) });
      } catch (error) {
        if (!(error instanceof LabError)) throw error;
        failures.push(blame(error, p.name, 'l4'));
      }
    }
    if (failures.length === 1) throw failures[0]!;
    if (failures.length > 1) {
      throw new LabError({ code: 'LAB_L4_FAILED', summary: `L4 failed on ${failures.length} personas`, diagnostics: failures.map((f) => f.toDiagnostic()), hint: 'fix the first error and run apply again' });
    }
  },
};
