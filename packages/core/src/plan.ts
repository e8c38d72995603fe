import type { Diagnostic } from './diagnostic.js';
import { LabError } from './errors.js';
import type { Action, Change } from './change.js';
import { impactRank, type Impact } from './impact.js';

/** Bumped on any incompatible change of the JSON shape; see adr/0002-plan-format-and-exit-codes.md. */
export const PLAN_FORMAT_VERSION = 1;

export type PlanMode = 'normal' | 'destroy' | 'check';

/**
 * What a plan was computed against: one fingerprint per observed object (a Proxmox config
 * `digest`, a facts hash, a stack hash). Applying a saved plan first re-observes and refuses
 * when any entry moved — Terraform's "Saved plan is stale".
 */
export type PlanBasis = Readonly<Record<string, string>>;

export interface Plan {
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  readonly labVersion: string;
  readonly personas: readonly string[];
  readonly layers: readonly string[];
  readonly mode: PlanMode;
  readonly createdAt: string;
  readonly basis: PlanBasis;
  readonly changes: readonly Change[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface PlanInit {
  readonly labVersion: string;
  readonly personas?: readonly string[];
  readonly layers?: readonly string[];
  readonly mode?: PlanMode;
  readonly createdAt?: Date;
  readonly basis?: PlanBasis;
  readonly changes?: readonly Change[];
  readonly diagnostics?: readonly Diagnostic[];
}

export function createPlan(init: PlanInit): Plan {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    labVersion: init.labVersion,
    personas: [...(init.personas ?? [])],
    layers: [...(init.layers ?? [])],
    mode: init.mode ?? 'normal',
    createdAt: (init.createdAt ?? new Date()).toISOString(),
    basis: { ...(init.basis ?? {}) },
    changes: [...(init.changes ?? [])],
    diagnostics: [...(init.diagnostics ?? [])],
  };
}

/** Combine per-layer plans into one, keeping order (L0 first). */
export function mergePlans(labVersion: string, plans: readonly Plan[], mode: PlanMode = 'normal'): Plan {
  const uniq = (xs: readonly string[]) => [...new Set(xs)];
  return createPlan({
    labVersion,
    mode,
    personas: uniq(plans.flatMap((p) => p.personas)),
    layers: uniq(plans.flatMap((p) => p.layers)),
    basis: Object.assign({}, ...plans.map((p) => p.basis)),
    changes: plans.flatMap((p) => p.changes),
    diagnostics: plans.flatMap((p) => p.diagnostics),
  });
}

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly delete: number;
  readonly noop: number;
  readonly impacts: Readonly<Record<Impact, number>>;
}

export function summarizePlan(plan: Plan): PlanSummary {
  const counts: Record<Action, number> = { noop: 0, create: 0, update: 0, replace: 0, delete: 0 };
  const impacts: Record<Impact, number> = {
    none: 0, hotplug: 0, reload: 0, restart: 0, reboot: 0, recreate: 0, 'data-loss': 0,
  };
  for (const c of plan.changes) {
    counts[c.action] += 1;
    if (c.action !== 'noop') impacts[c.impact] += 1;
  }
  return { ...counts, impacts };
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== 'noop');
}

export function worstPlanImpact(plan: Plan): Impact {
  return plan.changes
    .filter((c) => c.action !== 'noop')
    .map((c) => c.impact)
    .reduce<Impact>((w, i) => (impactRank(i) > impactRank(w) ? i : w), 'none');
}

/** JSON text of a plan; secrets inside before/after are `Secret`s and serialise as `***`. */
export function serializePlan(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/** Parse a saved plan, refusing other format versions with an actionable error. */
export function parsePlan(text: string, file = 'plan.json'): Plan {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new LabError({
      code: 'LAB_PLAN_INVALID',
      summary: `${file} is not valid JSON`,
      hint: 'save plans with `lab plan --out plan.json` and do not edit them by hand',
      cause,
    });
  }
  const p = data as Partial<Plan> | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.changes) || typeof p.basis !== 'object') {
    throw new LabError({
      code: 'LAB_PLAN_INVALID',
      summary: `${file} is not a lab plan`,
      hint: 'save plans with `lab plan --out plan.json`',
    });
  }
  if (p.formatVersion !== PLAN_FORMAT_VERSION) {
    throw new LabError({
      code: 'LAB_PLAN_FORMAT',
      summary: `${file} has plan format ${String(p.formatVersion)}, this lab reads format ${PLAN_FORMAT_VERSION}`,
      hint: 'make a new plan with this version of lab: `lab plan --out plan.json`',
    });
  }
  return p as Plan;
}
