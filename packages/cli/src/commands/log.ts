import { defineCommand } from 'citty';
import { ExitCode, LabError, worstImpact, formatMs } from '@lab/core';
import { parseDuration } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { concerns, readJournal, type JournalEntry } from '@lab/engine';
import { renderTable } from './personas.js';

/** `7d`, `36h`, or an ISO date/time. */
export function parseSince(text: string, now: Date): Date {
  const iso = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(iso)) return new Date(iso);
  try {
    return new Date(now.getTime() - parseDuration(text) * 1000);
  } catch {
    throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--since ${text}: expected a duration like 7d or 12h, or a date like 2026-03-01`, hint: 'lab log --since 7d' });
  }
}

function changesCell(e: JournalEntry): string {
  if (e.changes.length === 0) return '-';
  const worst = worstImpact(e.changes.map((c) => c.impact));
  return worst === 'none' ? String(e.changes.length) : `${e.changes.length} (${worst})`;
}

function resultCell(e: JournalEntry): string {
  return e.error ? `${e.result} ${e.error.code}` : e.result;
}

export function renderLog(entries: readonly JournalEntry[], verbose: boolean): string {
  const rows = entries.map((e) => [
    `${e.time.slice(0, 16).replace('T', ' ')}Z`,
    e.command,
    e.personas.join(',') || '(site)',
    e.layers.join(',') || '-',
    resultCell(e),
    changesCell(e),
    formatMs(e.durationMs),
    e.git ? `${e.git.commit}${e.git.dirty ? '+' : ''}` : '-',
    e.operator,
  ]);
  const head = ['TIME (UTC)', 'COMMAND', 'PERSONAS', 'LAYERS', 'RESULT', 'CHANGES', 'TOOK', 'COMMIT', 'BY'];
  if (!verbose) return renderTable(head, rows);
  // -v: each run's changes and error under its row.
  const lines: string[] = [];
  const table = renderTable(head, rows).split('\n');
  lines.push(table[0]!);
  entries.forEach((e, i) => {
    lines.push(table[i + 1]!);
    if (e.error) lines.push(`    error: ${e.error.summary}`);
    for (const c of e.changes) lines.push(`    ${c.action.padEnd(7)} ${c.address}${c.impact === 'none' ? '' : ` (${c.impact})`}${c.summary ? `: ${c.summary}` : ''}`);
  });
  return lines.join('\n');
}

export const logCommand = defineCommand({
  meta: { name: 'log', description: 'The change journal: what was applied, destroyed, captured and checked, newest first' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'Only runs about this persona', valueHint: 'name' },
    since: { type: 'string', description: 'Only runs since then: a duration (7d, 12h) or a date (2026-03-01)', valueHint: 'when' },
    limit: { type: 'string', description: 'At most this many runs (default 50; 0 for all)', valueHint: 'n' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const limit = args.limit === undefined ? 50 : Number(args.limit);
    if (!Number.isInteger(limit) || limit < 0) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--limit ${args.limit}: expected a whole number`, hint: 'lab log --limit 20' });
    }
    const since = args.since ? parseSince(args.since, new Date()) : undefined;
    const { entries, skipped } = await readJournal(ctx.root(), since ? { since } : {});
    for (const s of skipped) ctx.reporter.emit({ type: 'log', level: 'warn', message: `journal line skipped: ${s}` });
    const persona = args.persona;
    const selected = (persona ? entries.filter((e) => concerns(e, persona)) : entries).slice(0, limit === 0 ? undefined : limit);
    if (ctx.json) {
      ctx.io.out(JSON.stringify(selected, null, 2));
      return ExitCode.Ok;
    }
    if (selected.length === 0) {
      ctx.io.err(entries.length === 0 ? 'The journal is empty: no run was recorded yet.' : 'No run matches.');
      return ExitCode.Ok;
    }
    ctx.io.out(renderLog(selected, ctx.verbose));
    return ExitCode.Ok;
  },
});
