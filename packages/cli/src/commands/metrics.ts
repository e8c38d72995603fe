import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { LAB_VERSION, readJournal, renderMetrics } from '@lab/engine';

/**
 * Write `text` so a reader sees the old file or the new one, never half of one: node-exporter's
 * textfile collector may read at any moment. The temporary name does not end in `.prom`, so the
 * collector ignores it.
 */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new LabError({ code: 'LAB_METRICS_WRITE', summary: `cannot write ${file}: ${(cause as Error).message}`, hint: 'point --out at a writable file in the textfile collector directory', cause });
  }
}

export const metricsCommand = defineCommand({
  meta: { name: 'metrics', description: 'Prometheus metrics from the journal (last apply, drift, backups, restore drills) for the node-exporter textfile collector' },
  args: {
    ...globalArgs,
    out: { type: 'string', description: 'Write to this file atomically (e.g. /var/lib/prometheus/node-exporter/lab.prom) instead of stdout', valueHint: 'file' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const root = ctx.root();
    const [lab, journal] = await Promise.all([loadLab(root), readJournal(root)]);
    for (const s of journal.skipped) ctx.reporter.emit({ type: 'log', level: 'warn', message: `journal line skipped: ${s}` });
    const text = await renderMetrics(lab, journal.entries, LAB_VERSION);
    if (!args.out) {
      ctx.io.out(text);
      return ExitCode.Ok;
    }
    const file = resolve(args.out);
    await writeAtomically(file, text);
    ctx.io.err(`wrote ${file}`);
    return ExitCode.Ok;
  },
});
