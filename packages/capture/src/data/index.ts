/**
 * Data capture: restic backups of each persona's data, run in the guest next to the data and
 * reached over the lab's SSH connection. A local repository (a directory on the machine running
 * lab) is served to the guest through a reverse-forwarded unix socket and `rclone serve restic`;
 * an sftp repository is the guest's to reach. Snapshots carry `persona:<name>` and
 * `commit:<sha>` tags, retention touches one persona's snapshots only, replication copies them to
 * a second repository, and the restore drill proves the newest snapshot restores.
 */
export { dataCaptureIntent, repositoryAccess } from './intent.js';
export { ensureRestic } from './ensure-restic.js';
export type { ResticInGuest } from './ensure-restic.js';
export { backupData, applyRetention } from './backup.js';
export type { BackupOptions } from './backup.js';
export { listSnapshots, toSnapshotInfo } from './snapshots.js';
export { restoreData, previewRestore, compareTrees } from './restore.js';
export type { RestoreOptions, TreeNode } from './restore.js';
export { verifyRestore, compareRestored } from './verify.js';
export type { VerifyOptions } from './verify.js';
export { replicateData } from './replicate.js';
export { withConsistency, pauseStacks, pauseScript, resumeScript, composeCommandFor } from './consistency.js';
export type { Paused, ConsistentRun } from './consistency.js';
export { forgetArgs, countForget, personaTag, personaFilter } from './retention.js';
export type { ForgetGroup } from './retention.js';
export { DATA_CAPTURE_ERROR_CODES } from './errors.js';
export type { DataCaptureErrorCode } from './errors.js';
export type {
  RepositoryLocation,
  RepositoryRef,
  RepositoryAccess,
  Retention,
  ConsistencyStrategy,
  ConsistencyIntent,
  WorkloadLayout,
  DataCaptureIntent,
  DataSession,
  SnapshotInfo,
  BackupResult,
  RestorePreview,
  RestoreResult,
  VerifyResult,
  ReplicateResult,
} from './types.js';
