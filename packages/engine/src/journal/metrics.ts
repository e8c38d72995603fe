import { Gauge, Registry } from 'prom-client';
import type { Lab } from '@lab/intent';
import type { JournalEntry } from './entry.js';
import { APPLY_COMMANDS, endTime, lastBackup, lastDrift, lastRun, lastVerifiedRestore } from './queries.js';

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
  'lab_last_verified_restore_timestamp_seconds',
  'lab_backup_last_success_timestamp_seconds',
] as const;

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
  const applyTime = gauge('lab_last_apply_timestamp_seconds', 'When the last apply of the persona ended (Unix seconds), whatever its result.', ['persona']);
  const applyOk = gauge('lab_last_apply_success', '1 if the last apply of the persona succeeded, else 0.', ['persona']);
  const applyDuration = gauge('lab_last_apply_duration_seconds', 'How long the last apply of the persona took.', ['persona']);
  const drift = gauge('lab_drift_changes', 'Addresses of the persona that differed from intent at the last drift check.', ['persona']);
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
    const apply = lastRun(entries, persona, APPLY_COMMANDS);
    if (apply) {
      applyTime.set({ persona }, seconds(endTime(apply)));
      applyOk.set({ persona }, apply.result === 'ok' ? 1 : 0);
      applyDuration.set({ persona }, apply.durationMs / 1000);
    }
    const d = lastDrift(entries, persona);
    if (d) drift.set({ persona }, d.drifted);
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
