import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JOURNAL_FORMAT_VERSION, type JournalEntry } from './entry.js';
import { JOURNAL_DIR } from './record.js';

const MONTH_FILE = /^(\d{4})-(\d{2})\.ndjson$/;

export interface JournalRead {
  /** Newest first. */
  readonly entries: readonly JournalEntry[];
  /** Lines that could not be read, as `journal/2026-03.ndjson:12: reason` (merge damage, a newer format). */
  readonly skipped: readonly string[];
}

export interface ReadOptions {
  /** Only runs that started at or after this time. */
  readonly since?: Date;
}

function isEntry(value: unknown): value is JournalEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    e['v'] === JOURNAL_FORMAT_VERSION &&
    typeof e['time'] === 'string' &&
    !Number.isNaN(Date.parse(e['time'])) &&
    typeof e['command'] === 'string' &&
    typeof e['result'] === 'string' &&
    Array.isArray(e['personas']) &&
    Array.isArray(e['changes']) &&
    typeof e['durationMs'] === 'number'
  );
}

/** Parse one month file; pure, so the line rules are testable without files. */
export function parseJournalText(text: string, file: string): { entries: JournalEntry[]; skipped: string[] } {
  const entries: JournalEntry[] = [];
  const skipped: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped.push(`${file}:${i + 1}: not JSON`);
      return;
    }
    if (isEntry(value)) entries.push(value);
    else skipped.push(`${file}:${i + 1}: not a journal entry of format ${JOURNAL_FORMAT_VERSION}`);
  });
  return { entries, skipped };
}

/**
 * Every run in `journal/*.ndjson`, newest first. A missing journal is an empty one. Month files
 * wholly before `since` are not opened, so reading stays cheap as the journal grows.
 */
export async function readJournal(root: string, options: ReadOptions = {}): Promise<JournalRead> {
  const dir = join(root, JOURNAL_DIR);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => MONTH_FILE.test(n)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: [] };
    throw error;
  }
  const sinceMonth = options.since?.toISOString().slice(0, 7);
  const wanted = sinceMonth === undefined ? names : names.filter((n) => n.slice(0, 7) >= sinceMonth);
  const parsed = await Promise.all(wanted.map(async (n) => parseJournalText(await readFile(join(dir, n), 'utf8'), `${JOURNAL_DIR}/${n}`)));
  const since = options.since?.getTime();
  // Keep file order for runs that started in the same millisecond: the later line is newer.
  const all = parsed.flatMap((p) => p.entries).map((e, i) => ({ e, i, t: Date.parse(e.time) }));
  const entries = all
    .filter((x) => since === undefined || x.t >= since)
    .sort((a, b) => b.t - a.t || b.i - a.i)
    .map((x) => x.e);
  return { entries, skipped: parsed.flatMap((p) => p.skipped) };
}
