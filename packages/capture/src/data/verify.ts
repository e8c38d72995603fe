import { shq } from '@lab/ssh';
import { withRepository } from './_repository.js';
import { restic, type ResticRun } from './_restic.js';
import { tail } from './errors.js';
import { liveTree, snapshotTree, type TreeNode } from './restore.js';
import { findSnapshot } from './snapshots.js';
import type { DataSession, RepositoryAccess, VerifyResult } from './types.js';

export interface VerifyOptions {
  /** Snapshot id or prefix; default the newest of the persona. */
  readonly snapshot?: string;
  /** Share of the repository's packs `restic check` reads back (default `10%`). */
  readonly readDataSubset?: string;
}

const MAX_LISTED = 5;

function failedRun(what: string, run: ResticRun): string {
  const lines = tail(run.stderr || run.stdout, 4).split('\n').map((l) => l.trim()).filter(Boolean);
  return `${what} (restic exit ${run.code ?? 'signal'}): ${lines.join(' / ')}`;
}

/** Restored tree against the snapshot's: every entry there, of the same type and size, nothing more. */
export function compareRestored(tree: readonly TreeNode[], restored: ReadonlyMap<string, TreeNode>): string[] {
  const problems: string[] = [];
  const missing: string[] = [];
  const differs: string[] = [];
  const wanted = new Set<string>();
  for (const n of tree) {
    wanted.add(n.path);
    const r = restored.get(n.path);
    if (!r) {
      // restic lists the parents of the captured paths too; restore creates them, find may start below.
      if (n.type !== 'dir') missing.push(n.path);
      continue;
    }
    if (r.type !== n.type || (n.type === 'file' && r.size !== n.size)) differs.push(`${n.path} (${n.type} ${n.size} B → ${r.type} ${r.size} B)`);
  }
  const extra = [...restored.keys()].filter((p) => !wanted.has(p));
  const list = (xs: string[]) => xs.slice(0, MAX_LISTED).join(', ') + (xs.length > MAX_LISTED ? ` and ${xs.length - MAX_LISTED} more` : '');
  if (missing.length > 0) problems.push(`${missing.length} entries of the snapshot were not restored: ${list(missing)}`);
  if (differs.length > 0) problems.push(`${differs.length} restored entries differ from the snapshot: ${list(differs)}`);
  if (extra.length > 0) problems.push(`${extra.length} restored entries are not in the snapshot: ${list(extra)}`);
  return problems;
}

/**
 * The restore drill: prove the newest snapshot restores. `restic check` verifies the repository's
 * structure and reads back a share of its packs; the snapshot is restored into a scratch
 * directory of the guest with `--verify`, which re-reads every restored file and compares its
 * chunks with the SHA-256 ids restic computed from the live data at backup time; the restored
 * tree must then hold exactly the snapshot's entries with their sizes. The scratch directory is
 * removed whatever happens (adr/0108-restore-drill.md).
 */
export async function verifyRestore(session: DataSession, repository: RepositoryAccess, options: VerifyOptions = {}): Promise<VerifyResult> {
  const started = performance.now();
  const { connection: conn, intent } = session;
  const subset = options.readDataSubset ?? '10%';
  const notes: string[] = [];
  if (intent.drillScope === 'stacks') {
    notes.push('restoreDrill.scope stacks is drilled at files scope: restoring into a throwaway clone and running the health checks is not implemented yet');
  }
  return withRepository(conn, repository, { appendOnly: true }, async (repo) => {
    const snapshot = await findSnapshot(session, repo, options.snapshot);
    const problems: string[] = [];
    const check = await restic(conn, repo, ['check', `--read-data-subset=${subset}`], { timeoutMs: session.timeoutMs ?? 6 * 3600_000 });
    if (check.code !== 0) problems.push(failedRun('restic check found damage in the repository', check));

    const scratch = (await conn.script('umask 077 && mktemp -d /var/tmp/lab-drill.XXXXXXXX', { sudo: true, timeoutMs: 30_000 })).stdout.trim();
    let files = 0;
    let bytes = 0;
    try {
      const tree = await snapshotTree(session, repo, snapshot);
      const fileNodes = tree.filter((n) => n.type === 'file');
      files = fileNodes.length;
      bytes = fileNodes.reduce((s, n) => s + n.size, 0);
      const restore = await restic(conn, repo, ['restore', snapshot.id, '--target', scratch, '--verify'], { timeoutMs: session.timeoutMs ?? 6 * 3600_000 });
      if (restore.code !== 0) problems.push(failedRun(`restoring snapshot ${snapshot.shortId} failed`, restore));
      else {
        const verified = /finished verifying (\d+) files/.exec(restore.stdout + restore.stderr)?.[1];
        if (verified !== undefined && Number(verified) !== files) problems.push(`restic verified ${verified} restored files, the snapshot has ${files}`);
        const restored = await liveTree(session, snapshot.paths, scratch);
        problems.push(...compareRestored(tree, restored));
      }
    } finally {
      if (scratch.startsWith('/var/tmp/lab-drill.')) await conn.script(`rm -rf --one-file-system ${shq(scratch)}`, { sudo: true, timeoutMs: 600_000 }).catch(() => undefined);
    }
    return { snapshot, verified: problems.length === 0, files, bytes, readDataSubset: subset, problems, notes, durationMs: Math.round(performance.now() - started) };
  });
}
