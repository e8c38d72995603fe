import { isSecret, SECRET_MASK, type Action, type Change, type Diagnostic, type Impact, type Layer, type Plan } from '@lab/core';

/** Layers `lab drift` compares with intent: the VM, its OS, its stacks. */
export const DRIFT_LAYERS = ['l2', 'l3', 'l4'] as const satisfies readonly Layer[];
export type DriftLayer = (typeof DRIFT_LAYERS)[number];

/**
 * `drifted`: it exists and differs from intent. `missing`: lab has not created it yet (a VM,
 * a stack never deployed) — shown, never counted as drift (adr/0117). `skipped`: could not be
 * looked at, and why (the VM is missing or stopped, the lab has no guests). `error`: looking failed.
 */
export type Verdict = 'clean' | 'drifted' | 'missing' | 'skipped' | 'error';

export interface DriftField {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly note?: string;
}

export interface DriftItem {
  readonly address: string;
  readonly kind: string;
  /** What `lab apply` would do about it. */
  readonly action: Action;
  readonly impact: Impact;
  readonly reason?: string;
  readonly diff: readonly DriftField[];
  readonly unifiedDiff?: string;
}

export interface LayerDrift {
  readonly layer: DriftLayer;
  readonly verdict: Verdict;
  readonly drift: readonly DriftItem[];
  readonly missing: readonly DriftItem[];
  /** Why the layer was skipped, or a warning worth showing. */
  readonly note?: string;
  readonly error?: { readonly code: string; readonly summary: string; readonly hint?: string };
}

export interface PersonaDrift {
  readonly persona: string;
  readonly verdict: Exclude<Verdict, 'skipped'>;
  readonly layers: readonly LayerDrift[];
  readonly durationMs: number;
}

/** A lab-managed VM whose persona is no longer in Git: drift (exit 2) until destroyed. */
export interface OrphanItem {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  readonly status: string;
  /** Persistent data volumes on it, kept by `lab destroy --orphan` unless --destroy-data. */
  readonly dataDisks: readonly string[];
}

export interface DriftReport {
  readonly formatVersion: 1;
  readonly labVersion: string;
  readonly checkedAt: string;
  readonly verdict: 'clean' | 'drifted' | 'error';
  readonly counts: { readonly personas: number; readonly drifted: number; readonly driftedPersonas: number; readonly missingPersonas: number; readonly errors: number; readonly orphans: number };
  readonly personas: readonly PersonaDrift[];
  /** Only looked for when L2 is checked. */
  readonly orphans: readonly OrphanItem[];
}

const mask = (v: unknown, sensitive: boolean): unknown => (sensitive || isSecret(v) ? SECRET_MASK : v);

/** A change as drift reports it: values of sensitive fields masked, no steps, no before/after blobs. */
export function toItem(c: Change): DriftItem {
  return {
    address: c.address,
    kind: c.kind,
    action: c.action,
    impact: c.impact,
    ...(c.reason ? { reason: c.reason } : {}),
    diff: c.diff.map((d) => {
      const sensitive = d.sensitive === true || c.sensitivePaths.includes(d.path);
      return { path: d.path, ...(d.before === undefined ? {} : { before: mask(d.before, sensitive) }), ...(d.after === undefined ? {} : { after: mask(d.after, sensitive) }), ...(d.note ? { note: d.note } : {}) };
    }),
    ...(c.unifiedDiff ? { unifiedDiff: c.unifiedDiff } : {}),
  };
}

/** Is this pending change something that is not there yet (rather than something that differs)? */
function isMissing(layer: DriftLayer, c: Change): boolean {
  // L2: the VM. L4: a stack with no release and no container on the host. Inside an existing
  // guest's OS (L3) lab keeps no record of what it made, so an absent package or file is drift.
  return c.action === 'create' && (layer === 'l2' || layer === 'l4');
}

/**
 * One persona's part of one layer's `check` plan → its verdict. Error diagnostics make the
 * layer an error, except `LAB_L2_NO_TEMPLATE`, which only says the VM is not there yet
 * (and neither is its template).
 */
export function classify(layer: DriftLayer, persona: string, plan: Plan): LayerDrift {
  const mine = (a: string | undefined) => a !== undefined && a.startsWith(`${persona}/${layer}/`);
  const pending = plan.changes.filter((c) => mine(c.address) && c.action !== 'noop');
  const diags = plan.diagnostics.filter((d) => mine(d.address) || (d.address === undefined && plan.personas.length === 1 && plan.personas[0] === persona));
  const noTemplate = diags.filter((d) => d.code === 'LAB_L2_NO_TEMPLATE');
  const errors = diags.filter((d) => d.severity === 'error' && d.code !== 'LAB_L2_NO_TEMPLATE');
  const warnings = diags.filter((d) => d.severity === 'warning');
  if (errors.length > 0) return errored(layer, errors);
  const missing = pending.filter((c) => isMissing(layer, c)).map(toItem);
  for (const d of noTemplate) missing.push({ address: d.address!, kind: 'vm', action: 'create', impact: 'none', reason: d.summary, diff: [] });
  const drift = pending.filter((c) => !isMissing(layer, c)).map(toItem);
  const verdict: Verdict = drift.length > 0 ? 'drifted' : missing.length > 0 ? 'missing' : 'clean';
  const note = warnings.map((w) => w.summary).join('; ');
  return { layer, verdict, drift, missing, ...(note ? { note } : {}) };
}

function errored(layer: DriftLayer, errors: readonly Diagnostic[]): LayerDrift {
  const first = errors[0]!;
  return { layer, verdict: 'error', drift: [], missing: [], error: { code: first.code, summary: errors.map((e) => e.summary).join('; '), ...(first.hint ? { hint: first.hint } : {}) } };
}

export function skipped(layer: DriftLayer, note: string): LayerDrift {
  return { layer, verdict: 'skipped', drift: [], missing: [], note };
}

export function failed(layer: DriftLayer, error: { code: string; summary: string; hint?: string | undefined }): LayerDrift {
  return { layer, verdict: 'error', drift: [], missing: [], error: { code: error.code, summary: error.summary, ...(error.hint ? { hint: error.hint } : {}) } };
}

/** A persona is an error if any layer is; else drifted if any layer is; else missing if its VM is. */
export function personaVerdict(layers: readonly LayerDrift[]): PersonaDrift['verdict'] {
  if (layers.some((l) => l.verdict === 'error')) return 'error';
  if (layers.some((l) => l.verdict === 'drifted')) return 'drifted';
  if (layers.some((l) => l.verdict === 'missing')) return 'missing';
  return 'clean';
}

export function summarize(personas: readonly PersonaDrift[], labVersion: string, checkedAt: Date, orphans: readonly OrphanItem[] = []): DriftReport {
  const drifted = personas.reduce((n, p) => n + p.layers.reduce((m, l) => m + l.drift.length, 0), 0);
  const errors = personas.filter((p) => p.verdict === 'error').length;
  return {
    formatVersion: 1,
    labVersion,
    checkedAt: checkedAt.toISOString(),
    verdict: errors > 0 ? 'error' : drifted > 0 || orphans.length > 0 ? 'drifted' : 'clean',
    counts: {
      personas: personas.length,
      drifted,
      driftedPersonas: personas.filter((p) => p.layers.some((l) => l.drift.length > 0)).length,
      missingPersonas: personas.filter((p) => p.verdict === 'missing').length,
      errors,
      orphans: orphans.length,
    },
    personas,
    orphans,
  };
}

/**
 * What the journal keeps of one persona's check: totals, and per layer actually looked at
 * (`drifted.l2`…), so a later check of fewer layers does not read as "no drift" for the others.
 */
export function driftDetails(p: PersonaDrift): Record<string, number | string> {
  const measured = p.layers.filter((l) => l.verdict === 'clean' || l.verdict === 'drifted' || l.verdict === 'missing');
  return {
    drifted: driftedCount(p),
    missing: p.layers.reduce((n, l) => n + l.missing.length, 0),
    verdict: p.verdict,
    ...Object.fromEntries(measured.map((l) => [`drifted.${l.layer}`, l.drift.length])),
  };
}

/** Drifted changes of one persona: what the journal counts. */
export function driftedCount(p: PersonaDrift): number {
  return p.layers.reduce((n, l) => n + l.drift.length, 0);
}
