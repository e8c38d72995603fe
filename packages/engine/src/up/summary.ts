import { formatMs, hasChanges, hasErrors, renderSummaryLine, type Reporter } from '@lab/core';
import type { LayerOutcome } from './run-layers.js';
import type { LayerPreview, SkippedLayer } from './plan.js';

/**
 * Show the combined plan layer by layer: a heading per layer (what it is, which personas are
 * planned from intent), its changes with their impact, then one total line. Layers with
 * nothing to do say so in one line.
 */
export function showPreview(reporter: Reporter, layers: readonly LayerPreview[], skipped: readonly SkippedLayer[]): void {
  for (const l of layers) {
    const from = l.projected.length > 0 ? ` — planned from intent for ${l.projected.join(', ')} (not created yet)` : '';
    if (!hasChanges(l.plan)) {
      // A layer whose plan failed was not compared with the world: it has errors, not "no changes".
      const failed = hasErrors(l.plan.diagnostics);
      reporter.emit({ type: 'log', level: 'info', message: `${l.layer.toUpperCase()} ${l.description}: ${failed ? 'could not be planned' : 'no changes'}` });
      for (const d of l.plan.diagnostics) {
        if (d.severity === 'error') {
          reporter.emit({ type: 'diagnostic', diagnostic: d });
          continue;
        }
        const persona = d.address?.split('/')[0];
        const group = persona && persona !== '_site' ? { group: persona } : {};
        reporter.emit({ type: 'log', level: d.severity === 'info' ? 'info' : 'warn', message: `${d.summary}${d.hint ? `\n  hint: ${d.hint}` : ''}`, ...group });
      }
      continue;
    }
    reporter.emit({ type: 'phase', name: `${l.layer.toUpperCase()} ${l.description}${from}` });
    reporter.emit({ type: 'plan', plan: l.plan });
  }
  for (const s of skipped) reporter.emit({ type: 'log', level: s.hint ? 'warn' : 'info', message: `${s.layer.toUpperCase()} skipped: ${s.reason}${s.hint ? `\n  hint: ${s.hint}` : ''}` });
}

export function totalLine(verb: string, plan: Parameters<typeof renderSummaryLine>[0]): string {
  const line = renderSummaryLine(plan);
  return line.startsWith('Plan: ') ? `${verb[0]!.toUpperCase()}${verb.slice(1)}: ${line.slice('Plan: '.length)}` : line;
}

const STATUS: Record<LayerOutcome['status'], string> = {
  applied: 'applied',
  unchanged: 'nothing to change',
  failed: 'FAILED',
  'not-run': 'not run',
  skipped: 'skipped',
};

/** Per layer: what happened, how many changes, how long; then the total time. */
export function renderOutcomes(verb: string, outcomes: readonly LayerOutcome[], totalMs: number): string {
  const width = Math.max(...outcomes.map((o) => o.description.length), 10);
  const rows = outcomes.map((o) => {
    const what = o.status === 'applied' ? `${o.changes} change${o.changes === 1 ? '' : 's'} applied` : o.status === 'failed' ? `FAILED after ${o.changes} planned change${o.changes === 1 ? '' : 's'}` : STATUS[o.status];
    const took = o.status === 'not-run' || o.status === 'skipped' ? '' : formatMs(o.durationMs);
    const why = o.reason ? `  (${o.reason})` : o.error ? `  ${o.error.code}` : '';
    return `  ${o.layer.toUpperCase()}  ${o.description.padEnd(width)}  ${what.padEnd(26)} ${took.padStart(7)}${why}`;
  });
  const failed = outcomes.some((o) => o.status === 'failed');
  return [`lab ${verb} ${failed ? 'stopped' : 'complete'} in ${formatMs(totalMs)}:`, ...rows].join('\n');
}
