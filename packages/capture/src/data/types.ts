import type { Reporter, Secret } from '@lab/core';
import type { SshConnection } from '@lab/ssh';

/** Where a restic repository lives, as lab.yaml `repositories` declares it. */
export type RepositoryLocation =
  /** A directory on the machine running lab (absolute path). */
  | { readonly type: 'local'; readonly path: string }
  /** A restic SFTP URL the guest's restic reaches over the guest's own network. */
  | { readonly type: 'sftp'; readonly url: string };

/** A repository of the site, its password still a secret name. */
export interface RepositoryRef {
  readonly name: string;
  readonly location: RepositoryLocation;
  /** Name of the password in the secrets store. */
  readonly passwordSecret: string;
}

/** A repository with its password in hand, ready for restic. */
export interface RepositoryAccess {
  readonly name: string;
  readonly location: RepositoryLocation;
  readonly password: Secret<string>;
}

/** `forget` policy; 0 means "this rule keeps nothing". */
export interface Retention {
  readonly keepLast: number;
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly yearly: number;
}

export type ConsistencyStrategy = 'pause' | 'hook' | 'none';

export interface ConsistencyIntent {
  readonly strategy: ConsistencyStrategy;
  /** Shell command run in the guest (as root) before the snapshot (hook strategy). */
  readonly pre?: string;
  /** Shell command run after the snapshot, also when it failed (hook strategy). */
  readonly post?: string;
  /** Longest the stacks may stay paused, or one hook may run. */
  readonly timeoutS: number;
}

/** How the persona's Compose stacks are found in the guest (as L4 lays them out). */
export interface WorkloadLayout {
  readonly composeCommand: string;
  readonly stacksDir: string;
  /** Stacks to pause around a snapshot or an in-place restore, in start order. */
  readonly stacks: readonly string[];
}

/** A persona's data capture, resolved from its intent and the site. */
export interface DataCaptureIntent {
  readonly persona: string;
  readonly repository: RepositoryRef;
  readonly replicate?: RepositoryRef;
  /** Absolute paths in the guest. */
  readonly paths: readonly string[];
  /** restic exclude patterns. */
  readonly exclude: readonly string[];
  readonly retention: Retention;
  readonly consistency: ConsistencyIntent;
  readonly workload: WorkloadLayout;
  readonly drillScope: 'files' | 'stacks';
}

/** What every data operation works with: the guest connection and where to report. */
export interface DataSession {
  readonly connection: SshConnection;
  readonly intent: DataCaptureIntent;
  readonly reporter?: Reporter;
  /** Longest one restic run may take (default 6 hours). */
  readonly timeoutMs?: number;
}

/** One snapshot of the persona, newest first in lists. */
export interface SnapshotInfo {
  readonly id: string;
  readonly shortId: string;
  readonly time: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  /** From the `commit:<sha>` tag: the lab commit the capture ran at. */
  readonly commit?: string;
}

export interface BackupResult {
  readonly persona: string;
  readonly repository: string;
  readonly snapshot: SnapshotInfo;
  /** Files restic looked at (new, changed and unmodified). */
  readonly files: number;
  readonly filesNew: number;
  readonly filesChanged: number;
  /** Bytes of new data stored in the repository (after deduplication, before compression). */
  readonly bytesAdded: number;
  readonly bytesProcessed: number;
  readonly durationMs: number;
  /** Stacks stopped for the snapshot and started again. */
  readonly paused: readonly string[];
  /** Snapshots of the persona `forget` removed, and how many remain. */
  readonly forgotten: number;
  readonly kept: number;
  /** Non-fatal problems: unreadable files, missing paths, a failed post hook. */
  readonly warnings: readonly string[];
}

/** What an in-place restore does to the live files, compared by size and modification time. */
export interface RestorePreview {
  readonly snapshot: SnapshotInfo;
  /** Files that exist and differ from the snapshot: restic replaces them. */
  readonly overwrite: readonly string[];
  /** Files of the snapshot missing in the guest: restic creates them. */
  readonly create: readonly string[];
  /** Files equal in size and time: rewritten with the same content. */
  readonly unchanged: number;
  /** Files in the captured paths that the snapshot does not have: left as they are. */
  readonly extra: readonly string[];
}

export interface RestoreResult {
  readonly snapshot: SnapshotInfo;
  /** `/` for an in-place restore, else the target directory in the guest. */
  readonly target: string;
  readonly files: number;
  readonly paused: readonly string[];
  readonly durationMs: number;
}

export interface VerifyResult {
  readonly snapshot: SnapshotInfo;
  readonly verified: boolean;
  /** Files and bytes the snapshot holds and the drill restored. */
  readonly files: number;
  readonly bytes: number;
  /** The `--read-data-subset` restic check read. */
  readonly readDataSubset: string;
  /** Why the drill failed, one line each (empty when verified). */
  readonly problems: readonly string[];
  /** What the drill did not cover. */
  readonly notes: readonly string[];
  readonly durationMs: number;
}

export interface ReplicateResult {
  readonly from: string;
  readonly to: string;
  readonly copied: number;
  /** Snapshots the destination already had. */
  readonly skipped: number;
  readonly forgotten: number;
  readonly durationMs: number;
}
