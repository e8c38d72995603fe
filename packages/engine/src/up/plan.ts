import { hasErrors, mergePlans, type Diagnostic, type Layer, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import type { LayerAdapter, LayerContext } from '../layers/adapter.js';
import type { Prepared } from '../layers/run.js';
import { LAB_VERSION } from '../version.js';
import type { GuestReach } from './guests.js';
import { note, projectOs, projectVmCreates, projectWorkloads, vmStates, type ProjectionInput } from './projection.js';

/** Layers that act inside a guest over SSH: they need its VM to exist and run. */
export const GUEST_LAYERS: readonly Layer[] = ['l3', 'l4'];

const TITLES: Record<Layer, string> = { l0: 'Proxmox host', l1: 'images', l2: 'VMs', l3: 'guest operating systems', l4: 'workloads', capture: 'capture' };

/** A short name for a layer in headings, summaries and errors. */
export function layerTitle(layer: Layer): string {
  return TITLES[layer];
}

export interface LayerPreview {
  readonly layer: Layer;
  readonly description: string;
  readonly plan: Plan;
  /** Personas whose changes in this layer are planned from intent (their VM does not exist yet). */
  readonly projected: readonly string[];
}

export interface SkippedLayer {
  readonly layer: Layer;
  readonly reason: string;
  readonly hint?: string;
}

/** The combined plan `lab up` shows and asks about; each layer is planned again before it applies. */
export interface UpPreview {
  readonly plan: Plan;
  readonly layers: readonly LayerPreview[];
  readonly skipped: readonly SkippedLayer[];
}

/** Drop the guest layers when this lab has no guests to reach; say so instead of failing on each persona. */
export function withoutUnreachableGuests(p: Prepared, reach: GuestReach): { prepared: Prepared; skipped: SkippedLayer[] } {
  if (reach.ok) return { prepared: p, skipped: [] };
  const skipped = p.adapters
    .filter((a) => GUEST_LAYERS.includes(a.layer))
    .map((a) => ({ layer: a.layer, reason: reach.reason ?? 'no guests to reach', ...(reach.hint ? { hint: reach.hint } : {}) }));
  return { prepared: { ...p, adapters: p.adapters.filter((a) => !GUEST_LAYERS.includes(a.layer)) }, skipped };
}

/** The same session seen for fewer personas: connections, secrets and the simulator stay shared. */
export function scoped(ctx: LayerContext, personas: readonly LoadedPersona[]): LayerContext {
  return { ...ctx, personas };
}

function inScope(layer: Layer, p: LoadedPersona): boolean {
  return layer === 'l4' ? p.persona.workloads.stacks.length > 0 : true;
}

/**
 * A guest layer across personas: observed where the VM runs (or L2 is not part of the run),
 * planned from intent where the VM is still to be created, and left for later, with a note,
 * where the VM exists but is stopped (L2 starts it; its guest cannot be read before).
 */
async function planGuestLayer(adapter: LayerAdapter, ctx: LayerContext, l2: Plan | undefined): Promise<LayerPreview> {
  const personas = ctx.personas.filter((p) => inScope(adapter.layer, p));
  const states = vmStates(l2, personas.map((p) => p.name));
  const observe = personas.filter((p) => ['running', 'unknown'].includes(states.get(p.name)!));
  const absent = personas.filter((p) => states.get(p.name) === 'absent');
  const stopped = personas.filter((p) => states.get(p.name) === 'stopped');
  const plans: Plan[] = [];
  const notes: Diagnostic[] = [];
  if (observe.length > 0) plans.push(await adapter.plan(scoped(ctx, observe), 'normal'));
  const secrets = { get: (name: string) => ctx.secrets().get(name) };
  for (const p of absent) {
    const input: ProjectionInput = { persona: p, root: ctx.lab.root, secrets, labVersion: ctx.labVersion, imageOverrides: ctx.lab.site.site.workloads.imageOverrides, imageDelivery: ctx.lab.site.site.workloads.imageDelivery, allowStandIns: ctx.lab.site.site.workloads.allowStandIns };
    plans.push(adapter.layer === 'l3' ? await projectOs(input) : await projectWorkloads(input));
    notes.push(note('LAB_UP_FROM_INTENT', adapter.layer, p.name, 'planned from intent against an empty guest, because the VM does not exist yet; planned again against the real guest right after L2 creates it'));
  }
  for (const p of stopped) {
    notes.push(note('LAB_UP_GUEST_STOPPED', adapter.layer, p.name, 'not planned yet: the VM is stopped, so its guest cannot be read; L2 starts it and this layer is planned right after'));
  }
  const merged = mergePlans(LAB_VERSION, plans, 'normal');
  return {
    layer: adapter.layer,
    description: layerTitle(adapter.layer),
    plan: { ...merged, layers: [adapter.layer], personas: personas.map((p) => p.name), diagnostics: [...merged.diagnostics, ...notes] },
    projected: absent.map((p) => p.name),
  };
}

/**
 * One plan across every selected layer, in order, before anything is applied. Site layers and
 * L2 are planned as they are; L2 creates waiting for a template L1 builds in the same run are
 * projected; guest layers follow each VM's state. A layer whose plan has errors stops the
 * preview, as `lab plan` does: nothing would be applied past it.
 */
export async function planUp(p: Prepared, skipped: readonly SkippedLayer[]): Promise<UpPreview> {
  const layers: LayerPreview[] = [];
  let l1: Plan | undefined;
  let l2: Plan | undefined;
  for (const adapter of p.adapters) {
    p.session.reporter.emit({ type: 'phase', name: `plan ${adapter.layer}`, layer: adapter.layer });
    let preview: LayerPreview;
    if (GUEST_LAYERS.includes(adapter.layer)) {
      preview = await planGuestLayer(adapter, p.session, l2);
    } else {
      let plan = await adapter.plan(p.session, 'normal');
      let projected: string[] = [];
      if (adapter.layer === 'l1') l1 = plan;
      if (adapter.layer === 'l2') {
        ({ plan, projected } = projectVmCreates(l1, plan, p.session.personas, p.lab.site.site, LAB_VERSION));
        l2 = plan;
      }
      preview = { layer: adapter.layer, description: layerTitle(adapter.layer), plan, projected };
    }
    layers.push(preview);
    if (hasErrors(preview.plan.diagnostics)) break;
  }
  const skippedNotes: Diagnostic[] = skipped.map((s) => ({ severity: 'info', code: 'LAB_UP_LAYER_SKIPPED', summary: `${s.layer.toUpperCase()} skipped: ${s.reason}`, ...(s.hint ? { hint: s.hint } : {}) }));
  const merged = mergePlans(LAB_VERSION, layers.map((l) => l.plan), 'normal');
  return { plan: { ...merged, diagnostics: [...merged.diagnostics, ...skippedNotes] }, layers, skipped };
}
