import { formatDiagnostic, type Plan } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import type { JournalEntry } from '../journal/entry.js';
import { concerns, driftOf, endTime, lastBackup, lastRun, lastVerifiedRestore } from '../journal/queries.js';
import type { LabView } from './load.js';

/** The grid's columns: the layers, then capture. */
export const GRID_COLUMNS = ['l0', 'l1', 'l2', 'l3', 'l4', 'capture'] as const;
export type GridColumn = (typeof GRID_COLUMNS)[number];
const SITE_LAYERS: readonly string[] = ['l0', 'l1'];

export type CellState = 'converged' | 'drift' | 'pending' | 'failed' | 'never' | 'off';

export interface Cell {
  readonly column: GridColumn;
  readonly state: CellState;
  /** Drifted or pending changes. */
  readonly count?: number;
  /** Error code of a failed run or observation. */
  readonly code?: string;
  /** When this state was seen (a run's end, or an observation). */
  readonly at?: Date;
  /** What the state comes from: `journal: apply`, `observed`… */
  readonly source: string;
}

/** One layer observed by the page (a read-only plan in check mode), kept in memory only. */
export interface Observation {
  readonly layer: string;
  readonly at: Date;
  readonly plan?: Plan;
  readonly error?: { readonly code: string; readonly summary: string };
  /** The layer was not checked, and why (no guests to reach); the journal's state stands. */
  readonly skipped?: string;
}

export interface GridRow {
  readonly persona: string;
  /** Validation errors: the persona is shown, but has no cells. */
  readonly invalid: readonly string[];
  readonly cells: readonly Cell[];
}

const pendingOf = (plan: Plan, layer: string): number => plan.changes.filter((c) => c.layer === layer && c.action !== 'noop').length;

function fromObservation(column: GridColumn, o: Observation): Cell {
  if (o.error) return { column, state: 'failed', code: o.error.code, at: o.at, source: 'observed' };
  const n = o.plan ? pendingOf(o.plan, column) : 0;
  return n > 0 ? { column, state: 'drift', count: n, at: o.at, source: 'observed' } : { column, state: 'converged', at: o.at, source: 'observed' };
}

/** Did this run act on `layer` for `persona`? Site layers also count runs about no persona. */
function touches(e: JournalEntry, persona: string, layer: string): boolean {
  if (!e.layers.includes(layer)) return false;
  if (concerns(e, persona)) return true;
  return SITE_LAYERS.includes(layer) && e.personas.length === 0;
}

const LAYER_COMMANDS: readonly string[] = ['apply', 'up', 'rebuild', 'drift', 'destroy', 'down'];

/** A layer's cell from the journal: the newest run that acted on it for this persona. */
export function layerCell(entries: readonly JournalEntry[], persona: string, layer: GridColumn): Cell {
  const e = entries.find((x) => LAYER_COMMANDS.includes(x.command) && touches(x, persona, layer));
  if (!e) return { column: layer, state: 'never', source: 'journal' };
  const at = endTime(e);
  const source = `journal: ${e.command}`;
  if (e.result === 'failed') return { column: layer, state: 'failed', code: e.error?.code ?? 'LAB_UNKNOWN', at, source };
  if (e.command === 'drift') {
    const own = e.changes.filter((c) => c.address.startsWith(`${persona}/${layer}/`)).length;
    const n = e.changes.length > 0 ? own : (driftOf(e, persona) ?? 0);
    return n > 0 ? { column: layer, state: 'drift', count: n, at, source } : { column: layer, state: 'converged', at, source };
  }
  if (e.command === 'destroy' || e.command === 'down') return { column: layer, state: 'never', at, source };
  if (e.result === 'partial') return { column: layer, state: 'pending', at, source };
  return { column: layer, state: 'converged', at, source };
}

/** Capture: the last backup, failed capture or missing backup of a persona that declares capture. */
export function captureCell(entries: readonly JournalEntry[], p: LoadedPersona): Cell {
  const capture = p.persona.capture;
  if (!capture?.enabled) return { column: 'capture', state: 'off', source: 'intent: no capture' };
  const last = lastRun(entries, p.name, ['capture'], (e) => e.details?.['kind'] !== 'vm' && e.details?.['kind'] !== 'template');
  if (last && last.result === 'failed') return { column: 'capture', state: 'failed', code: last.error?.code ?? 'LAB_UNKNOWN', at: endTime(last), source: 'journal: capture' };
  const ok = lastBackup(entries, p.name);
  return ok ? { column: 'capture', state: 'converged', at: endTime(ok), source: 'journal: capture' } : { column: 'capture', state: 'pending', source: 'intent: capture declared, no backup yet' };
}

/**
 * The grid of personas × layers: each cell from the newest of the journal and the page's own
 * observations. Pure: the same entries and observations give the same grid.
 */
export function labGrid(view: LabView, observed: ReadonlyMap<string, readonly Observation[]> = new Map()): GridRow[] {
  const entries = view.journal.entries;
  return view.rows.map((row) => {
    if (!row.loaded) return { persona: row.name, invalid: row.errors.map((d) => formatDiagnostic(d)), cells: [] };
    const cells = GRID_COLUMNS.map((column) => {
      const fromJournal = column === 'capture' ? captureCell(entries, row.loaded!) : layerCell(entries, row.name, column);
      const o = (observed.get(row.name) ?? []).find((x) => x.layer === column && x.skipped === undefined);
      if (!o) return fromJournal;
      return !fromJournal.at || o.at.getTime() >= fromJournal.at.getTime() ? fromObservation(column, o) : fromJournal;
    });
    return { persona: row.name, invalid: [], cells };
  });
}

/** Restore drill policy as an age limit: the drill's calendar, read coarsely. */
export function drillLimitDays(schedule: string): number {
  const s = schedule.toLowerCase();
  if (s.includes('daily') || /^\*-\*-\* /.test(s)) return 1;
  if (s.includes('weekly') || /^(mon|tue|wed|thu|fri|sat|sun)\b/.test(s)) return 7;
  if (s.includes('quarterly')) return 92;
  if (s.includes('yearly') || s.includes('annually')) return 366;
  return 31;
}

export interface DrillState {
  readonly declared: boolean;
  readonly last: Date | undefined;
  readonly limitDays: number;
  readonly overdue: boolean;
}

export function drillState(entries: readonly JournalEntry[], p: LoadedPersona, now: Date): DrillState {
  const drill = p.persona.capture?.restoreDrill;
  const limitDays = drillLimitDays(drill?.schedule ?? 'monthly');
  const v = lastVerifiedRestore(entries, p.name);
  const last = v ? endTime(v) : undefined;
  const overdue = drill !== undefined && (!last || now.getTime() - last.getTime() > limitDays * 86_400_000);
  return { declared: drill !== undefined, last, limitDays, overdue };
}

/** "3 min ago", "2 d ago". */
export function ago(at: Date | undefined, now: Date): string {
  if (!at) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
