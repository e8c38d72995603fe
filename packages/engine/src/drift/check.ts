import pLimit from 'p-limit';
import { toLabError, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import type { LayerAdapter, LayerContext } from '../layers/adapter.js';
import { loadLayer } from '../layers/registry.js';
import { guestParallelism } from '../layers/guest-parallelism.js';
import type { GuestReach } from '../up/guests.js';
import { scoped } from '../up/plan.js';
import { vmStates } from '../up/projection.js';
import { classify, failed, personaVerdict, skipped, type DriftLayer, type LayerDrift, type PersonaDrift } from './report.js';


export interface DriftCheckOptions {
  readonly layers: readonly DriftLayer[];
  readonly reach: GuestReach;
  /** Called as each persona is done (the journal records one entry per persona). */
  readonly onPersona?: (result: PersonaDrift, startedAt: Date) => Promise<void>;
}

async function adapters(layers: readonly DriftLayer[]): Promise<Map<DriftLayer, LayerAdapter>> {
  const out = new Map<DriftLayer, LayerAdapter>();
  for (const l of layers) {
    const a = await loadLayer(l);
    if (a) out.set(l, a);
  }
  return out;
}

/** Why a guest layer of this persona cannot be looked at, if it cannot. */
function guestBlocked(l2: LayerDrift | undefined, state: string, reach: GuestReach): string | undefined {
  if (l2?.missing.some((m) => m.kind === 'vm') || state === 'absent') return 'the VM does not exist yet';
  // Whatever answers at the persona's address may not be lab's VM (a foreign VM, an API error).
  if (l2?.verdict === 'error') return 'L2 could not be checked, so the guest was not looked at';
  if (state === 'stopped') return 'the VM is not running (see L2), so its guest cannot be read';
  if (!reach.ok) return reach.reason ?? 'no guest to reach';
  return undefined;
}

async function guestLayer(layer: 'l3' | 'l4', adapter: LayerAdapter, ctx: LayerContext, p: LoadedPersona): Promise<LayerDrift> {
  if (layer === 'l4' && p.persona.workloads.stacks.length === 0) return skipped(layer, 'the persona declares no stacks');
  try {
    return classify(layer, p.name, await adapter.plan(scoped(ctx, [p]), 'check'));
  } catch (error) {
    return failed(layer, toLabError(error));
  }
}

/**
 * Compare each persona with its intent through every selected layer's `check` (read-only by
 * construction: check plans are never applied). L2 is read once for all personas; L3 and L4
 * run per persona, a few guests at once, and only where the VM exists and runs — a guest
 * that is not there is reported as such, never dialled.
 */
export async function checkDrift(ctx: LayerContext, options: DriftCheckOptions): Promise<PersonaDrift[]> {
  const byLayer = await adapters(options.layers);
  let l2Plan: Plan | undefined;
  let l2Error: ReturnType<typeof toLabError> | undefined;
  const l2 = byLayer.get('l2');
  if (l2) {
    ctx.reporter.emit({ type: 'phase', name: 'drift l2', layer: 'l2' });
    try {
      l2Plan = await l2.plan(ctx, 'check');
    } catch (error) {
      l2Error = toLabError(error);
    }
  }
  const states = vmStates(l2Plan, ctx.personas.map((p) => p.name));
  const limit = pLimit(guestParallelism(ctx.lab.site.site));
  return Promise.all(
    ctx.personas.map((p) =>
      limit(async (): Promise<PersonaDrift> => {
        const startedAt = new Date();
        const layers: LayerDrift[] = [];
        const l2Drift = l2 ? (l2Error ? failed('l2', l2Error) : classify('l2', p.name, l2Plan!)) : undefined;
        if (l2Drift) layers.push(l2Drift);
        const blocked = guestBlocked(l2Drift, states.get(p.name) ?? 'unknown', options.reach);
        for (const layer of ['l3', 'l4'] as const) {
          const adapter = byLayer.get(layer);
          if (!adapter) continue;
          layers.push(blocked ? skipped(layer, blocked) : await guestLayer(layer, adapter, ctx, p));
        }
        const result: PersonaDrift = { persona: p.name, verdict: personaVerdict(layers), layers, durationMs: Date.now() - startedAt.getTime() };
        await options.onPersona?.(result, startedAt);
        return result;
      }),
    ),
  );
}
