import { Gauge, Registry } from 'prom-client';
import type { Lab } from '@lab/intent';
import type { JournalEntry } from './entry.js';
import { endTime, lastApply, lastBackup, lastLayerDrift, lastVerifiedRestore } from './queries.js';

/**
 * Metric names are a contract: alert rules are written against them (adr/0112-lab-metrics.md).
 * Rename nothing; add new names instead.
 */
export const METRIC_NAMES = [
  'lab_info',
  'lab_last_apply_timestamp_seconds',
  'lab_last_apply_success',
  'lab_last_apply_duration_seconds',
  'lab_drift_changes',
  'lab_drift_check_timestamp_seconds',
  'lab_last_verified_restore_timestamp_seconds',
  'lab_backup_last_success_timestamp_seconds',
] as const;

/** Layers `lab drift` measures; each is its own series (a check of L2 says nothing of L3). */
const DRIFT_SERIES = ['l2', 'l3', 'l4'] as const;

const seconds = (d: Date): number => d.getTime() / 1000;

/**
 * The lab's state as Prometheus text exposition (format 0.0.4), for node-exporter's textfile
 * collector, computed from intent and journal alone. Apply and drift series exist only for
 * personas the journal has seen; backup and restore-drill series exist for every persona that
 * declares them and read 0 until the first success, so "never" alerts like "too long ago".
 */
export async function renderMetrics(lab: Lab, entries: readonly JournalEntry[], version: string): Promise<string> {
  const registry = new Registry();
  const gauge = (name: (typeof METRIC_NAMES)[number], help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  gauge('lab_info', 'Version of the lab tool that wrote these metrics (always 1).', ['version']).set({ version }, 1);
  const applyTime = gauge('lab_last_apply_timestamp_seconds', 'When the last apply that concluded for the persona ended (Unix seconds): a success, or a failure of this persona (a run that failed on another persona does not count).', ['persona']);
  const applyOk = gauge('lab_last_apply_success', '1 if that apply (lab_last_apply_timestamp_seconds) succeeded for the persona, 0 if it failed on the persona.', ['persona']);
  const applyDuration = gauge('lab_last_apply_duration_seconds', 'How long that apply (lab_last_apply_timestamp_seconds) took, in seconds, for every persona it covered.', ['persona']);
  const drift = gauge('lab_drift_changes', 'Addresses of the persona that differed from intent in this layer at the last drift check that looked at the layer (see lab_drift_check_timestamp_seconds).', ['persona', 'layer']);
  const driftAt = gauge('lab_drift_check_timestamp_seconds', 'When the last drift check that looked at this layer of the persona ended (Unix seconds): the time lab_drift_changes was observed.', ['persona', 'layer']);
  const restore = gauge(
    'lab_last_verified_restore_timestamp_seconds',
    'When the last restore drill of the persona verified (Unix seconds); 0 if a drill is declared but none verified yet.',
    ['persona'],
  );
  const backup = gauge(
    'lab_backup_last_success_timestamp_seconds',
    'When the last successful capture of the persona ended (Unix seconds); 0 if capture is declared but none succeeded yet.',
    ['persona'],
  );

  for (const p of lab.personas) {
    const persona = p.name;
    const apply = lastApply(entries, persona);
    if (apply) {
      applyTime.set({ persona }, seconds(endTime(apply)));
      applyOk.set({ persona }, apply.result === 'ok' ? 1 : 0);
      applyDuration.set({ persona }, apply.durationMs / 1000);
    }
    for (const layer of DRIFT_SERIES) {
      const d = lastLayerDrift(entries, persona, layer);
      if (!d) continue;
      drift.set({ persona, layer }, d.drifted);
      driftAt.set({ persona, layer }, seconds(endTime(d.entry)));
    }
    const capture = p.persona.capture;
    const verified = lastVerifiedRestore(entries, persona);
    if (verified) restore.set({ persona }, seconds(endTime(verified)));
    else if (capture?.enabled && capture.restoreDrill) restore.set({ persona }, 0);
    const captured = lastBackup(entries, persona);
    if (captured) backup.set({ persona }, seconds(endTime(captured)));
    else if (capture?.enabled) backup.set({ persona }, 0);
  }
  return registry.metrics();
}
