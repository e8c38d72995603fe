import type { JournalCommand } from './contract.js';
import type { JournalEntry } from './entry.js';

/**
 * Questions `lab personas`, `lab docs`, `lab metrics` and `lab reap` ask of the journal. All take
 * the entries newest first (as readJournal returns them) and are pure.
 */

/** Commands that converge a persona: what "last apply" means. */
export const APPLY_COMMANDS: readonly JournalCommand[] = ['apply', 'up', 'rebuild'];

const scopeOf = (address: string): string => address.slice(0, address.indexOf('/'));

/** The run was about this persona, or changed something of it. */
export function concerns(entry: JournalEntry, persona: string): boolean {
  return entry.personas.includes(persona) || entry.changes.some((c) => scopeOf(c.address) === persona);
}

/** When the run ended. */
export function endTime(entry: JournalEntry): Date {
  return new Date(Date.parse(entry.time) + entry.durationMs);
}

export function lastRun(
  entries: readonly JournalEntry[],
  persona: string,
  commands: readonly JournalCommand[],
  accept: (e: JournalEntry) => boolean = () => true,
): JournalEntry | undefined {
  return entries.find((e) => commands.includes(e.command) && concerns(e, persona) && accept(e));
}

/** The newest successful capture of the persona's data (not a whole-VM backup or a template capture). */
export function lastBackup(entries: readonly JournalEntry[], persona: string): JournalEntry | undefined {
  return lastRun(entries, persona, ['capture'], (e) => e.result === 'ok' && e.details?.['kind'] !== 'vm' && e.details?.['kind'] !== 'template');
}

/** The newest restore drill that restored and verified. */
export function lastVerifiedRestore(entries: readonly JournalEntry[], persona: string): JournalEntry | undefined {
  return lastRun(entries, persona, ['verify'], (e) => e.result === 'ok' && e.details?.['verified'] !== false);
}

export type VmCreation =
  | { readonly state: 'created'; readonly at: Date; readonly entry: JournalEntry }
  | { readonly state: 'destroyed'; readonly at: Date; readonly entry: JournalEntry }
  | { readonly state: 'unknown' };

/** Commands whose successful L2 run leaves no VM for the personas they name. */
const REMOVING: readonly JournalCommand[] = ['destroy', 'reap'];

/**
 * When the persona's VM was created, from the journal: the newest run that created (or
 * re-created) `<persona>/l2/vm`, unless a later run removed it — deleted it, or a successful
 * destroy/reap through L2 found nothing left to delete. A failed run counts for a create (the
 * VM may exist) but not for a removal (it may not be gone).
 */
export function vmCreation(entries: readonly JournalEntry[], persona: string): VmCreation {
  const vm = `${persona}/l2/vm`;
  for (const e of entries) {
    const c = e.changes.find((x) => x.address === vm);
    if (c && (c.action === 'create' || c.action === 'replace')) return { state: 'created', at: new Date(e.time), entry: e };
    if (e.result !== 'ok') continue;
    const nothingLeft = REMOVING.includes(e.command) && e.personas.includes(persona) && e.layers.includes('l2') && !e.changes.some((x) => x.address.startsWith(`${persona}/l2/`));
    const removed = c?.action === 'delete' || nothingLeft;
    if (removed) return { state: 'destroyed', at: new Date(e.time), entry: e };
  }
  return { state: 'unknown' };
}

/**
 * Pending drift of a persona from one `drift` run: `details["drifted.<persona>"]` when the run
 * covered several personas, `details.drifted` when it covered only this one, else the drifted
 * addresses of the persona the run journalled (adr/0112-lab-metrics.md).
 */
export function driftOf(entry: JournalEntry, persona: string): number | undefined {
  const per = entry.details?.[`drifted.${persona}`];
  if (typeof per === 'number') return per;
  const total = entry.details?.['drifted'];
  if (typeof total === 'number' && entry.personas.length === 1 && entry.personas[0] === persona) return total;
  if (entry.changes.length > 0 || entry.personas.includes(persona)) {
    return entry.changes.filter((c) => scopeOf(c.address) === persona).length;
  }
  return undefined;
}

/**
 * The newest drift check that looked at `layer` of the persona, with what it found there:
 * `details["drifted.<layer>"]`, journalled per layer actually checked (a layer skipped or in
 * error is not a measurement). A check of other layers says nothing about this one. Older
 * entries without per-layer details count only when they checked this one layer alone.
 */
export function lastLayerDrift(entries: readonly JournalEntry[], persona: string, layer: string): { entry: JournalEntry; drifted: number } | undefined {
  for (const e of entries) {
    if (e.command !== 'drift' || e.result === 'failed' || !concerns(e, persona)) continue;
    const per = e.details?.[`drifted.${layer}`];
    if (typeof per === 'number' && e.personas.length === 1) return { entry: e, drifted: per };
    if (per === undefined && e.layers.length === 1 && e.layers[0] === layer && !Object.keys(e.details ?? {}).some((k) => /^drifted\.l\d$/.test(k))) {
      const legacy = driftOf(e, persona);
      if (legacy !== undefined) return { entry: e, drifted: legacy };
    }
  }
  return undefined;
}

/**
 * Whether a failed run failed *for this persona*: runs journal the personas their error points
 * at (`details.failedPersonas`); a run without that detail failed for every persona it named.
 */
export function failedFor(entry: JournalEntry, persona: string): boolean {
  if (entry.result === 'ok') return false;
  const named = entry.details?.['failedPersonas'];
  return typeof named !== 'string' || named.split(',').includes(persona);
}

/**
 * The newest run that converged the persona and concluded for it: a success, or a failure that
 * was its own. A run that failed on another persona says nothing about this one.
 */
export function lastApply(entries: readonly JournalEntry[], persona: string): JournalEntry | undefined {
  return lastRun(entries, persona, APPLY_COMMANDS, (e) => e.result === 'ok' || failedFor(e, persona));
}

/** The newest completed drift check of the persona and its count. */
export function lastDrift(entries: readonly JournalEntry[], persona: string): { entry: JournalEntry; drifted: number } | undefined {
  for (const e of entries) {
    if (e.command !== 'drift' || e.result === 'failed' || !concerns(e, persona)) continue;
    const drifted = driftOf(e, persona);
    if (drifted !== undefined) return { entry: e, drifted };
  }
  return undefined;
}
