import { painter } from './_style.js';
import { formatDiagnostic } from './diagnostic.js';
import { impactRank, type Impact } from './impact.js';
import type { Plan } from './plan.js';
import { renderChangeHead, renderPlan, renderSummaryLine } from './render-plan.js';

/** A plan rendered in full longer than this many lines is summarised unless detail is asked for. */
export const PLAN_DETAIL_LINES = 80;

export interface RenderPlanViewOptions {
  readonly color?: boolean;
  /** Every change with its field diffs and file diffs (`--detail`). */
  readonly detail?: boolean;
  readonly maxLines?: number;
}

const scopeOf = (address: string): string => address.slice(0, address.indexOf('/'));

/**
 * The summary view of a plan (adr/0182): a table of pending changes per persona and layer with
 * the worst impact, then each change that costs something (an impact other than none, or a
 * delete/replace) on one line, then diagnostics and the summary line. Field and file diffs are
 * left for `--detail`. A plan whose full rendering fits `maxLines` is shown in full.
 */
export function renderPlanView(plan: Plan, options: RenderPlanViewOptions = {}): string {
  const full = renderPlan(plan, { color: options.color === true });
  if (options.detail || full.split('\n').length <= (options.maxLines ?? PLAN_DETAIL_LINES)) return full;
  const paint = painter(options.color === true);
  const pending = plan.changes.filter((c) => c.action !== 'noop');
  const rows = new Map<string, { persona: string; layer: string; create: number; update: number; replace: number; delete: number; worst: Impact }>();
  for (const c of pending) {
    const key = `${scopeOf(c.address)}\u0000${c.layer}`;
    const r = rows.get(key) ?? { persona: scopeOf(c.address), layer: c.layer, create: 0, update: 0, replace: 0, delete: 0, worst: 'none' as Impact };
    r[c.action as 'create' | 'update' | 'replace' | 'delete'] += 1;
    if (impactRank(c.impact) > impactRank(r.worst)) r.worst = c.impact;
    rows.set(key, r);
  }
  const head = ['PERSONA', 'LAYER', 'CREATE', 'UPDATE', 'REPLACE', 'DESTROY', 'WORST IMPACT'];
  const cells = [...rows.values()].map((r) => [r.persona, r.layer.toUpperCase(), String(r.create), String(r.update), String(r.replace), String(r.delete), r.worst]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const out = [head, ...cells].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  const costly = pending.filter((c) => c.impact !== 'none' || c.action === 'delete' || c.action === 'replace');
  if (costly.length > 0) out.push('', 'Changes with an impact:', ...costly.map((c) => renderChangeHead(c, paint)));
  for (const d of plan.diagnostics) {
    const label = d.severity === 'error' ? paint('red', 'Error') : paint('yellow', d.severity === 'warning' ? 'Warning' : 'Info');
    out.push(`${label}: ${formatDiagnostic(d)}`);
  }
  const quiet = pending.length - costly.length;
  out.push('', paint('dim', `${quiet} change${quiet === 1 ? '' : 's'} without impact not listed; every change with its diffs: --detail (or --json)`), renderSummaryLine(plan, paint));
  return out.join('\n');
}
