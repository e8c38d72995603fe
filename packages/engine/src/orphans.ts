import { hasErrors, LabError, type Plan } from '@lab/core';
import { loadLab } from '@lab/intent';
import { applyVms, findOrphans, planOrphanDestroy, snippetStorageOf, type OrphanVm } from '@lab/l2-vm';
import type { EngineEnv } from './env.js';
import type { OrphanItem } from './drift/report.js';
import { beginRun } from './journal/index.js';
import { createLayerContext, type LayerSession } from './layers/context.js';
import { l2ApplyContext } from './layers/l2.js';
import { pveClientOf } from './layers/pve-client.js';

/** Lab-managed VMs whose persona is no longer in Git (`lab drift` reports them, exit 2). */
export async function findLabOrphans(session: LayerSession): Promise<OrphanVm[]> {
  return findOrphans(await pveClientOf(session), session.lab.personas.map((p) => p.name));
}

/** The same, as drift reports them. */
export async function driftOrphans(session: LayerSession): Promise<OrphanItem[]> {
  return (await findLabOrphans(session)).map((o) => ({ persona: o.persona, vmid: o.vmid, node: o.node, status: o.status, dataDisks: o.dataDisks.map((d) => d.disk) }));
}

export interface DestroyOrphanOptions {
  readonly vmid: number;
  readonly destroyData: boolean;
  readonly onPlan?: (plan: Plan) => Promise<void> | void;
  /** Called before anything changes; throws to stop. */
  readonly confirm: (plan: Plan) => Promise<void>;
}

/**
 * `lab destroy --orphan <vmid>`: plan the orphan's destroy from what the cluster says (data
 * volumes kept unless `destroyData`), hand the plan over, confirm, apply through L2's own
 * apply (lock, stale check, host-key snippet and known_hosts cleanup), journal it as a destroy.
 */
export async function destroyOrphan(env: EngineEnv, options: DestroyOrphanOptions): Promise<{ readonly plan: Plan; readonly orphan: OrphanVm; readonly applied: boolean }> {
  const lab = await loadLab(env.root());
  const session = createLayerContext(lab, [], env.reporter, { allowReboot: false, destroyData: options.destroyData, targets: [] });
  try {
    const orphans = await findLabOrphans(session);
    const orphan = orphans.find((o) => o.vmid === options.vmid);
    if (!orphan) {
      throw new LabError({
        code: 'LAB_ORPHAN_NOT_FOUND',
        summary: `VM ${options.vmid} is not an orphan: no lab-managed VM with that id belongs to a persona missing from Git`,
        detail: orphans.length > 0 ? `orphans now: ${orphans.map((o) => `${o.vmid} (${o.persona})`).join(', ')}` : 'there are no orphans',
        hint: 'list them with `lab drift --layer l2`; a VM of a persona still in Git goes with `lab destroy --persona <name>`',
      });
    }
    const plan = planOrphanDestroy([orphan], { labVersion: session.labVersion, destroyData: options.destroyData, snippetStorage: snippetStorageOf(lab.site.site) });
    await options.onPlan?.(plan);
    if (hasErrors(plan.diagnostics)) return { plan, orphan, applied: false };
    await options.confirm(plan);
    const run = beginRun('destroy', { root: lab.root, reporter: env.reporter, personas: [orphan.persona], layers: ['l2'] });
    run.usePlan(plan);
    try {
      await applyVms(plan, await l2ApplyContext(session));
    } catch (error) {
      await run.failed(error, { orphan: orphan.vmid });
      throw error;
    }
    await run.ok({ orphan: orphan.vmid });
    return { plan, orphan, applied: true };
  } finally {
    await session.close();
  }
}
