/**
 * The change journal: one NDJSON line per run in `journal/YYYY-MM.ndjson` under the lab root,
 * committed with the lab, so `lab log`, `lab docs`, `lab metrics` and `lab reap` read one
 * history. Commands record through `recordRun` (or `beginRun`, which also masks the secrets
 * the run touched); values never reach the journal, only addresses, actions and impacts.
 * The Prometheus rendering lives in `./metrics.js` and is imported on its own, so reading the
 * journal does not load the metrics library. See adr/0110-change-journal.md.
 */
export type { JournalCommand, JournalResult, JournalRun } from './contract.js';
export { JOURNAL_FORMAT_VERSION, monthFile, toEntry } from './entry.js';
export type { JournalChange, JournalEntry, JournalGit, Provenance } from './entry.js';
export { JOURNAL_DIR, recordRun } from './record.js';
export type { RecordOptions } from './record.js';
export { parseJournalText, readJournal } from './read.js';
export type { JournalRead, ReadOptions } from './read.js';
export { beginRun, planError } from './recorder.js';
export type { RunRecorder, RunScope } from './recorder.js';
export { APPLY_COMMANDS, concerns, driftOf, endTime, failedFor, lastApply, lastBackup, lastDrift, lastLayerDrift, lastRun, lastVerifiedRestore, vmCreation } from './queries.js';
export type { VmCreation } from './queries.js';
export { describeExpiry, expiryOf, reapVerdict } from './expiry.js';
export type { Expiry } from './expiry.js';
export { beginLayerRun } from './layer-run.js';
