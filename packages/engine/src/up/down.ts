import { LabError, mergePlans, type Diagnostic, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { applyWorkloads, observeWorkloads, planWorkloads, type DesiredWorkloads } from '@lab/l4-workload';
import type { LayerAdapter, LayerContext } from '../layers/adapter.js';
import { guestConnection } from '../layers/guest-ssh.js';
import type { Prepared } from '../layers/run.js';
import { LAB_VERSION } from '../version.js';
import type { GuestReach } from './guests.js';
import { layerTitle, type LayerPreview, type SkippedLayer, type UpPreview } from './plan.js';
import { note } from './projection.js';
import type { LayerStep } from './run-layers.js';

/**
 * `protection: true` means "this VM must not be removed by accident": `lab down` refuses the
 * whole run before planning anything, so no stack of a protected persona is stopped either.
 */
export function refuseProtected(personas: readonly LoadedPersona[]): void {
  const protectedOnes = personas.filter((p) => p.persona.vm.protection);
  if (protectedOnes.length === 0) return;
  const names = protectedOnes.map((p) => p.name);
  throw new LabError({
    code: 'LAB_DOWN_PROTECTED',
    summary: `refusing to take down ${names.join(', ')}: ${names.length === 1 ? 'its VM is' : 'their VMs are'} protected (vm.protection: true)`,
    diagnostics: protectedOnes.map((p) => ({ severity: 'error', code: 'LAB_DOWN_PROTECTED', summary: `${p.name} has vm.protection: true`, hint: `set vm.protection: false in ${p.file} and run \`lab apply --layer l2 --persona ${p.name}\` first` })),
    hint: 'take down the other personas by name (--persona a,b), or lift the protection first',
  });
}

/** No stacks wanted: planned against the guest, every stack on it is a removal (volumes kept unless --destroy-data). */
function emptyWorkloads(p: LoadedPersona): DesiredWorkloads {
  const w = p.persona.workloads;
  return { persona: p.name, composeCommand: w.composeCommand, stacksDir: w.stacksDir, stacks: [], imageDelivery: 'registry', stage: p.persona.lifecycle.stage, allowStandIns: false };
}

async function planStacksDown(ctx: LayerContext, personas: readonly LoadedPersona[]): Promise<Plan> {
  const plans: Plan[] = [];
  for (const p of personas) {
    const desired = emptyWorkloads(p);
    const connection = await guestConnection(ctx, p);
    const observed = await observeWorkloads({ connection, stacksDir: desired.stacksDir, composeCommand: desired.composeCommand });
    plans.push(planWorkloads(desired, observed, { mode: 'destroy', labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData }));
  }
  return mergePlans(ctx.labVersion, plans, 'destroy');
}

async function applyStacksDown(ctx: LayerContext, personas: readonly LoadedPersona[], plan: Plan): Promise<void> {
  for (const p of personas) {
    const own = { ...plan, personas: [p.name], changes: plan.changes.filter((c) => c.address.startsWith(`${p.name}/l4/`)) };
    if (!own.changes.some((c) => c.action !== 'noop')) continue;
    const connection = await guestConnection(ctx, p);
    await applyWorkloads({ desired: emptyWorkloads(p), plan: own, connection, reporter: ctx.reporter, labVersion: ctx.labVersion, destroyData: ctx.flags.destroyData });
  }
}

/** Whether L2's destroy plan deletes the persona's VM while it runs (its guest can be reached). */
export const runningVm = (l2: Plan, name: string): boolean =>
  l2.changes.some((c) => c.address === `${name}/l2/vm` && c.action === 'delete' && (c.before as { status?: string } | undefined)?.status === 'running');

export interface DownPlan {
  readonly preview: UpPreview;
  readonly steps: readonly LayerStep[];
}

/**
 * `lab down`: L4 → L3 → L2, L0 and L1 untouched. Stacks are brought down first in guests that
 * run (so services stop cleanly and volumes are removed only with --destroy-data); L3 has
 * nothing to undo, the OS goes with its VM; L2 destroys the VMs and keeps persistent data
 * disks unless --destroy-data (adr/0116).
 */
export async function planDown(p: Prepared, l2Adapter: LayerAdapter, reach: GuestReach): Promise<DownPlan> {
  const ctx = p.session;
  ctx.reporter.emit({ type: 'phase', name: 'plan l2 (destroy)', layer: 'l2' });
  const l2 = await l2Adapter.plan(ctx, 'destroy');
  const withStacks = ctx.personas.filter((x) => x.persona.workloads.stacks.length > 0 && l2.changes.some((c) => c.address === `${x.name}/l2/vm` && c.action === 'delete'));
  const reachable = reach.ok ? withStacks.filter((x) => runningVm(l2, x.name)) : [];
  const notes: Diagnostic[] = [];
  for (const x of withStacks.filter((w) => !reachable.includes(w))) {
    notes.push(note('LAB_DOWN_STACKS_WITH_VM', 'l4', x.name, reach.ok ? 'the VM is not running, so its stacks are not brought down one by one; they go with the VM' : `stacks go with the VM (${reach.reason ?? 'no guest to reach'})`));
  }
  const skipped: SkippedLayer[] = [{ layer: 'l3', reason: 'nothing to undo: the guest operating system goes with its VM' }];
  const layers: LayerPreview[] = [];
  const steps: LayerStep[] = [];
  if (reachable.length > 0) {
    ctx.reporter.emit({ type: 'phase', name: 'plan l4 (destroy)', layer: 'l4' });
    const l4 = await planStacksDown(ctx, reachable);
    layers.push({ layer: 'l4', description: layerTitle('l4'), plan: { ...l4, layers: ['l4'] }, projected: [] });
    steps.push({ layer: 'l4', description: layerTitle('l4'), plan: () => planStacksDown(ctx, reachable), apply: (plan) => applyStacksDown(ctx, reachable, plan) });
  }
  layers.push({ layer: 'l2', description: layerTitle('l2'), plan: l2, projected: [] });
  steps.push({ layer: 'l2', description: layerTitle('l2'), plan: () => l2Adapter.plan(ctx, 'destroy'), apply: (plan) => l2Adapter.apply(plan, ctx) });
  const merged = mergePlans(LAB_VERSION, layers.map((l) => l.plan), 'destroy');
  return { preview: { plan: { ...merged, diagnostics: [...merged.diagnostics, ...notes] }, layers, skipped }, steps };
}
