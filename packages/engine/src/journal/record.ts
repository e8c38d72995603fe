import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError, type Secret } from '@lab/core';
import { LAB_VERSION } from '../version.js';
import type { JournalRun } from './contract.js';
import { monthFile, toEntry, type JournalEntry, type Provenance } from './entry.js';
import { gitStateOf, operatorOf } from './_provenance.js';

/** The journal folder under the lab root. */
export const JOURNAL_DIR = 'journal';

export interface RecordOptions {
  /**
   * Secrets the run read or wrote: any occurrence of their text in a summary, a reason or a
   * detail is replaced by `***` before the line is written.
   */
  readonly secrets?: Iterable<Secret<string>>;
  /** Given instead of asking Git and the OS (tests; commands that already know). */
  readonly provenance?: Partial<Provenance>;
  /** Environment for `git` (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Append one line to `journal/YYYY-MM.ndjson` (UTC month of the run's start). The line is
 * written with one `write(2)` on a descriptor opened with O_APPEND, so runs finishing at the
 * same time in several processes never interleave within a line (adr/0110-change-journal.md).
 */
export async function recordRun(root: string, run: JournalRun, options: RecordOptions = {}): Promise<JournalEntry> {
  const env = options.env ?? process.env;
  const given = options.provenance ?? {};
  const [operator, git] = await Promise.all([
    given.operator ?? operatorOf(root, env),
    given.git !== undefined ? given.git : gitStateOf(root, env),
  ]);
  const entry = toEntry(run, { operator, git, labVersion: given.labVersion ?? LAB_VERSION }, options.secrets);
  await appendLine(join(root, JOURNAL_DIR), monthFile(run.startedAt), `${JSON.stringify(entry)}\n`);
  return entry;
}

async function appendLine(dir: string, name: string, line: string): Promise<void> {
  const file = join(dir, name);
  const bytes = Buffer.from(line, 'utf8');
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(file, 'a', 0o644);
    try {
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length) throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new LabError({
      code: 'LAB_JOURNAL_WRITE',
      summary: `cannot append to the journal ${file}: ${(cause as Error).message}`,
      hint: `check that ${dir} is writable; the run itself is not affected`,
      cause,
    });
  }
}
