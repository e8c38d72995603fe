import { hasErrors, LabError, mergePlans, type Layer, type Plan, type PlanMode } from '@lab/core';
import { loadLab, type Lab } from '@lab/intent';
import type { EngineEnv } from '../env.js';
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
  readonly 'break-lock'?: boolean;
}

export interface Prepared {
  readonly lab: Lab;
  readonly adapters: readonly LayerAdapter[];
  readonly session: LayerSession;
}

/** Load the lab, pick the layers and personas `args` select, and open their session. */
export async function prepare(env: EngineEnv, args: LayerRunArgs): Promise<Prepared> {
  const lab = await loadLab(env.root());
  const layers = selectLayers(args.layer);
  if (layers.length === 0) {
    throw new LabError({ code: 'LAB_LAYER_UNAVAILABLE', summary: 'no layer is available in this version of lab', hint: 'upgrade lab' });
  }
  const needsPersona = layers.some((l) => !SITE_LAYERS.includes(l));
  const personas = selectPersonas(lab, args.persona, args.all === true, needsPersona);
  const flags: LayerFlags = {
    allowReboot: args['allow-reboot'] === true,
    destroyData: args['destroy-data'] === true,
    ...(args['break-lock'] === true ? { breakLock: true } : {}),
    targets: args.target ? args.target.split(',').map((t) => t.trim()) : [],
    ...(args.image ? { images: args.image.split(',').map((t) => t.trim()) } : {}),
  };
  const adapters = (await Promise.all(layers.map((l) => loadLayer(l)))).filter((a): a is LayerAdapter => a !== undefined);
  return { lab, adapters, session: createLayerContext(lab, personas, env.reporter, flags, env.reveal ? { reveal: (t) => env.reveal!(t) } : {}) };
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

/** Apply the part of `plan` that belongs to each adapter, in layer order. */
export async function applyLayers(p: Prepared, plan: Plan): Promise<void> {
  for (const adapter of p.adapters) {
    const changes = plan.changes.filter((c) => c.layer === adapter.layer);
    if (!changes.some((c) => c.action !== 'noop')) continue;
    p.session.reporter.emit({ type: 'phase', name: `apply ${adapter.layer}`, layer: adapter.layer });
    await adapter.apply({ ...plan, layers: [adapter.layer], changes }, p.session);
  }
}
