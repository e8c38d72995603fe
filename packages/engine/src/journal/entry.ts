import { redact, type Action, type Change, type Impact, type Secret } from '@lab/core';
import type { JournalCommand, JournalResult, JournalRun } from './contract.js';

/** Bumped on an incompatible change of a journal line; readers skip lines of other versions. */
export const JOURNAL_FORMAT_VERSION = 1;

/** One pending change as the journal keeps it: no before/after, no diff values. */
export interface JournalChange {
  readonly address: string;
  readonly action: Action;
  readonly impact: Impact;
  /** The changed field names (or the reason), never their values. */
  readonly summary?: string;
}

export interface JournalGit {
  /** Short commit of HEAD in the lab's repository. */
  readonly commit: string;
  /** The lab's files differed from that commit (the journal itself aside). */
  readonly dirty: boolean;
}

/** One line of `journal/YYYY-MM.ndjson` (adr/0110-change-journal.md). */
export interface JournalEntry {
  readonly v: typeof JOURNAL_FORMAT_VERSION;
  /** When the run started, ISO 8601 UTC. */
  readonly time: string;
  readonly operator: string;
  /** Null when the lab root is not in a Git work tree. */
  readonly git: JournalGit | null;
  readonly labVersion: string;
  readonly command: JournalCommand;
  readonly personas: readonly string[];
  readonly layers: readonly string[];
  readonly changes: readonly JournalChange[];
  readonly result: JournalResult;
  readonly durationMs: number;
  readonly error?: { readonly code: string; readonly summary: string };
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Who ran it and against which commit; gathered by record.ts, passed in so this stays pure. */
export interface Provenance {
  readonly operator: string;
  readonly git: JournalGit | null;
  readonly labVersion: string;
}

const MAX_SUMMARY_FIELDS = 8;
const MAX_TEXT = 500;

/**
 * The field names a change touches, never their values: values may be secrets, and the
 * journal is committed. Paths of sensitive fields are names too, so they may stay.
 */
function summarize(change: Change): string | undefined {
  if (change.reason !== undefined && change.reason !== '') return change.reason;
  if (change.action === 'create' || change.action === 'delete') return undefined;
  const paths = [...new Set(change.diff.map((d) => d.path))];
  if (paths.length === 0) return undefined;
  const shown = paths.slice(0, MAX_SUMMARY_FIELDS).join(', ');
  return paths.length > MAX_SUMMARY_FIELDS ? `${shown} +${paths.length - MAX_SUMMARY_FIELDS} more` : shown;
}

/** Strings from layers (reasons, error summaries) may quote a secret they were handed. */
function clean(text: string, secrets: readonly Secret<string>[]): string {
  const masked = redact(text, secrets);
  return masked.length > MAX_TEXT ? `${masked.slice(0, MAX_TEXT - 1)}…` : masked;
}

export function toEntry(run: JournalRun, provenance: Provenance, secrets: Iterable<Secret<string>> = []): JournalEntry {
  const known = [...secrets];
  const changes: JournalChange[] = (run.plan?.changes ?? [])
    .filter((c) => c.action !== 'noop')
    .map((c) => {
      const summary = summarize(c);
      return {
        address: c.address,
        action: c.action,
        impact: c.impact,
        ...(summary === undefined ? {} : { summary: clean(summary, known) }),
      };
    });
  const details = run.details
    ? Object.fromEntries(
        Object.entries(run.details)
          .sort(([a], [b]) => a.localeCompare(b))
          // A Secret smuggled past the type still serialises as ***; plain strings are redacted.
          .map(([k, v]) => [k, typeof v === 'string' ? clean(v, known) : typeof v === 'object' && v !== null ? String(v) : v]),
      )
    : undefined;
  return {
    v: JOURNAL_FORMAT_VERSION,
    time: run.startedAt.toISOString(),
    operator: provenance.operator,
    git: provenance.git,
    labVersion: provenance.labVersion,
    command: run.command,
    personas: [...new Set(run.personas)].sort(),
    layers: [...(run.layers ?? run.plan?.layers ?? [])],
    changes,
    result: run.result,
    durationMs: Math.max(0, Math.round(run.durationMs)),
    ...(run.error ? { error: { code: run.error.code, summary: clean(run.error.summary, known) } } : {}),
    ...(details && Object.keys(details).length > 0 ? { details } : {}),
  };
}

/** The month file a run belongs to, by its start time in UTC: `2026-03.ndjson`. */
export function monthFile(time: Date): string {
  return `${time.toISOString().slice(0, 7)}.ndjson`;
}
