import type { Reporter } from '@lab/core';
import type { Prepared } from '../layers/run.js';
import type { JournalCommand } from './contract.js';
import { beginRun, type RunRecorder } from './recorder.js';

/** Site layers act on no persona: an L0/L1-only run is journalled with no personas. */
const SITE_LAYERS: ReadonlySet<string> = new Set(['l0', 'l1']);

/**
 * Start the journal record of a layer verb (apply, destroy, reap…) on a prepared run: its scope
 * is the selected layers and, when a persona layer is among them, the selected personas; the
 * session's secret store is tracked so whatever the run reads or writes is masked.
 */
export function beginLayerRun(command: JournalCommand, ctx: { readonly reporter: Reporter }, p: Prepared): RunRecorder {
  const layers = p.adapters.map((a) => a.layer);
  const personas = layers.some((l) => !SITE_LAYERS.has(l)) ? p.session.personas.map((x) => x.name) : [];
  const run = beginRun(command, { root: p.lab.root, reporter: ctx.reporter, personas, layers });
  run.track(p.session);
  return run;
}
