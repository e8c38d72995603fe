import type { Plan } from '@lab/core';

/**
 * What a command tells the journal (journal/YYYY-MM.ndjson, committed): the lab's
 * infrastructure changelog. Commands that change the lab (apply, destroy, up, down, rebuild,
 * restore, capture) record a run; read-only commands that produce a verdict other tools report
 * on (drift, capture verify) record one too, so `lab log`, `lab docs` and `lab metrics` read
 * one source. The journal adds time, operator, git commit and lab version itself, and masks
 * secrets.
 */
export type JournalCommand = 'apply' | 'destroy' | 'up' | 'down' | 'rebuild' | 'restore' | 'capture' | 'verify' | 'drift' | 'reap' | 'image';

export type JournalResult = 'ok' | 'failed' | 'partial';

export interface JournalRun {
  readonly command: JournalCommand;
  /** Personas the run was about (empty for site-wide runs such as L0/L1). */
  readonly personas: readonly string[];
  /** Layers the run acted on; default: the plan's layers, else none. */
  readonly layers?: readonly string[];
  /**
   * The plan that was applied, when there was one. Only each pending change's address, action,
   * impact and a short summary (field names, never values) are journalled.
   */
  readonly plan?: Plan;
  readonly result: JournalResult;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** Error code and summary of a failed run. */
  readonly error?: { readonly code: string; readonly summary: string };
  /** Command-specific facts, e.g. `{ drifted: 3 }` or `{ snapshot: 'a1b2c3d4', verified: true }`. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}
