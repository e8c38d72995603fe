import { hasChanges, hasErrors, LabError, type Layer, type Plan, type PlanMode, type Reporter } from '@lab/core';
import type { Lab, LoadedPersona } from '@lab/intent';
import { observeVms } from '@lab/l2-vm';
import { configureVm } from '@lab/pve';
import type { LayerFlags } from '../layers/adapter.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { pveClientOf } from '../layers/pve-client.js';
import { loadLayer } from '../layers/registry.js';
import { REBUILD_STEPS, saveRebuildState, type RebuildState, type RebuildStep } from './state.js';

/** How a rebuild captures and restores; the capture commands provide them (src/capture/). */
export interface RebuildPorts {
  captureData(session: LayerSession, persona: LoadedPersona): Promise<{ readonly snapshot: string }>;
  restoreData(session: LayerSession, persona: LoadedPersona, snapshot: string): Promise<void>;
  captureVm(session: LayerSession, persona: LoadedPersona): Promise<{ readonly archive: string }>;
}

export interface RebuildOptions {
  readonly lab: Lab;
  readonly persona: LoadedPersona;
  readonly reporter: Reporter;
  readonly ports: RebuildPorts;
  /** Clear `protection` on the VM so it can be destroyed (intent sets it again on create). */
  readonly unprotect: boolean;
  readonly allowReboot: boolean;
}

/** What a step will do, for the rebuild plan shown before anything happens. */
export interface RebuildStepPlan {
  readonly step: RebuildStep;
  readonly run: boolean;
  readonly what: string;
}

export function planRebuild(persona: LoadedPersona, state: RebuildState | undefined): RebuildStepPlan[] {
  const p = persona.persona;
  const data = p.capture !== undefined && p.capture.enabled && p.capture.paths.length > 0;
  const vm = p.capture?.vm?.enabled === true;
  const done = new Set(state?.done ?? []);
  const describe: Record<RebuildStep, [boolean, string]> = {
    'capture-data': [data, data ? `restic backup of ${p.capture!.paths.join(', ')} to repository ${p.capture!.repository}` : 'no capture paths declared: nothing to carry over'],
    'capture-vm': [vm, vm ? `vzdump of the old VM to ${p.capture!.vm!.storage} (kept to roll back to)` : 'capture.vm is not enabled: the old root disk is not kept'],
    destroy: [true, 'stop and destroy the VM; persistent data disks are detached and kept'],
    create: [true, 'create the VM from intent (L2), re-attaching kept data disks'],
    converge: [true, 'converge the OS (L3)'],
    'restore-data': [data, data ? 'restore the data snapshot taken above into place' : 'nothing to restore'],
    deploy: [true, 'deploy the stacks (L4), health-gated'],
    verify: [true, 'check L2–L4 against intent: nothing left to change'],
  };
  return REBUILD_STEPS.map((step) => {
    const [run, what] = describe[step];
    return { step, run: run && !done.has(step), what: done.has(step) ? `done earlier (${what})` : what };
  });
}

function session(o: RebuildOptions, flags: Partial<LayerFlags> = {}): LayerSession {
  return createLayerContext(o.lab, [o.persona], o.reporter, { allowReboot: o.allowReboot, destroyData: false, targets: [], ...flags });
}

async function layerRun(o: RebuildOptions, layer: Layer, mode: PlanMode, flags: Partial<LayerFlags> = {}): Promise<Plan> {
  const adapter = await loadLayer(layer);
  if (!adapter) throw new LabError({ code: 'LAB_LAYER_UNAVAILABLE', summary: `layer ${layer} is not available` });
  const s = session(o, flags);
  try {
    const plan = await adapter.plan(s, mode);
    if (hasErrors(plan.diagnostics)) {
      throw new LabError({ code: 'LAB_REBUILD_PLAN', summary: `the ${layer} plan for ${o.persona.name} has errors`, diagnostics: plan.diagnostics, hint: 'fix them, then resume' });
    }
    if (mode !== 'check' && hasChanges(plan)) await adapter.apply(plan, s);
    return plan;
  } finally {
    await s.close();
  }
}

async function clearProtection(o: RebuildOptions): Promise<void> {
  const s = session(o);
  try {
    const client = await pveClientOf(s);
    const vm = (await observeVms(client, { personas: [o.persona.name] })).managed.get(o.persona.name);
    if (vm && vm.config['protection'] === '1') {
      await configureVm(client, vm, { protection: 0 });
      o.reporter.emit({ type: 'log', level: 'warn', message: `cleared protection on VM ${vm.vmid} (${o.persona.name}) for the rebuild; the new VM gets it back from intent` });
    }
  } finally {
    await s.close();
  }
}

async function runStep(o: RebuildOptions, step: RebuildStep, state: RebuildState): Promise<Partial<RebuildState>> {
  switch (step) {
    case 'capture-data': {
      const s = session(o);
      try {
        return { snapshot: (await o.ports.captureData(s, o.persona)).snapshot };
      } finally {
        await s.close();
      }
    }
    case 'capture-vm': {
      const s = session(o);
      try {
        return { archive: (await o.ports.captureVm(s, o.persona)).archive };
      } finally {
        await s.close();
      }
    }
    case 'destroy':
      if (o.unprotect) await clearProtection(o);
      await layerRun(o, 'l2', 'destroy');
      return {};
    case 'create':
      await layerRun(o, 'l2', 'normal');
      return {};
    case 'converge':
      await layerRun(o, 'l3', 'normal');
      return {};
    case 'restore-data': {
      if (!state.snapshot) throw new LabError({ code: 'LAB_REBUILD_NO_SNAPSHOT', summary: 'no data snapshot was recorded for this rebuild', hint: `restore by hand: lab restore data --persona ${o.persona.name}` });
      const s = session(o);
      try {
        await o.ports.restoreData(s, o.persona, state.snapshot);
        return {};
      } finally {
        await s.close();
      }
    }
    case 'deploy':
      await layerRun(o, 'l4', 'normal');
      return {};
    case 'verify': {
      const left: string[] = [];
      for (const layer of ['l2', 'l3', 'l4'] as const) {
        const plan = await layerRun(o, layer, 'check');
        for (const c of plan.changes) if (c.action !== 'noop') left.push(`${c.address} ${c.action}`);
      }
      if (left.length > 0) {
        throw new LabError({ code: 'LAB_REBUILD_UNVERIFIED', summary: `after the rebuild, ${left.length} change(s) remain`, detail: left.join('\n'), hint: `inspect: lab check --persona ${o.persona.name}` });
      }
      return {};
    }
  }
}

function resumeHint(persona: string, step: RebuildStep, state: RebuildState): string {
  const lines = [`resume: lab rebuild --persona ${persona} --resume   (continues at ${step}; finished steps are not repeated)`];
  if (state.snapshot) lines.push(`the data is safe in restic snapshot ${state.snapshot} (lab capture snapshots --persona ${persona})`);
  if (state.archive) lines.push(`the old VM is kept as ${state.archive} (lab restore vm --persona ${persona} --archive ${state.archive} --force)`);
  if (state.done.includes('destroy')) lines.push('persistent data disks of the old VM were detached and kept; create re-attaches them');
  return lines.join('\n');
}

/**
 * Run the remaining steps of a rebuild, saving progress after each, so a failure anywhere leaves
 * the backup and the kept disks in place and a `--resume` that continues where it stopped.
 */
export async function runRebuild(o: RebuildOptions, initial: RebuildState): Promise<RebuildState> {
  let state = initial;
  const { failed: _ignored, ...rest } = state;
  state = rest;
  for (const planned of planRebuild(o.persona, state)) {
    if (state.done.includes(planned.step)) continue;
    if (!planned.run) {
      state = { ...state, done: [...state.done, planned.step] };
      continue;
    }
    o.reporter.emit({ type: 'phase', name: `rebuild ${planned.step}` });
    try {
      state = { ...state, ...(await runStep(o, planned.step, state)), done: [...state.done, planned.step] };
      await saveRebuildState(o.lab.root, state);
    } catch (error) {
      const e = error instanceof LabError ? error : new LabError({ code: 'LAB_REBUILD_STEP', summary: (error as Error).message, cause: error });
      state = { ...state, failed: { step: planned.step, code: e.code, summary: e.summary, at: new Date().toISOString() } };
      await saveRebuildState(o.lab.root, state);
      throw new LabError({
        code: 'LAB_REBUILD_FAILED',
        summary: `rebuild of ${o.persona.name} stopped at ${planned.step}: ${e.summary}`,
        ...(e.detail ? { detail: e.detail } : {}),
        diagnostics: e.diagnostics,
        hint: resumeHint(o.persona.name, planned.step, state),
        cause: e,
      });
    }
  }
  return state;
}
