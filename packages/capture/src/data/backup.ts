import { shq, type SshConnection } from '@lab/ssh';
import { withRepository, type OpenRepository } from './_repository.js';
import { jsonDocument, jsonLines, restic, resticFailure } from './_restic.js';
import { withConsistency } from './consistency.js';
import { captureError } from './errors.js';
import { countForget, forgetArgs, personaTag, type ForgetGroup } from './retention.js';
import { snapshotsIn } from './snapshots.js';
import type { BackupResult, DataSession, RepositoryAccess } from './types.js';

export interface BackupOptions {
  /** The lab commit the capture runs at; tagged `commit:<sha>` on the snapshot. */
  readonly commit?: string;
}

/** Create the repository unless it exists; a wrong password is an error, not a reason to init. */
export async function initIfNeeded(conn: SshConnection, repo: OpenRepository, from?: OpenRepository): Promise<boolean> {
  const probe = await restic(conn, repo, ['cat', 'config'], { timeoutMs: 300_000 });
  if (probe.code === 0) return false;
  const failure = resticFailure(`opening repository ${repo.name}`, repo, probe);
  if (failure.code !== 'LAB_CAPTURE_NO_REPOSITORY') throw failure;
  const init = await restic(conn, repo, ['init', ...(from ? ['--copy-chunker-params'] : [])], { timeoutMs: 300_000, ...(from ? { from } : {}) });
  if (init.code !== 0) throw resticFailure(`creating repository ${repo.name}`, repo, init);
  return true;
}

/** Which of the paths exist in the guest (a missing one is a warning, all missing an error). */
async function existingPaths(conn: SshConnection, paths: readonly string[]): Promise<{ present: string[]; missing: string[] }> {
  const r = await conn.script(paths.map((p) => `[ -e ${shq(p)} ] && echo ${shq(`@@present ${p}`)} || echo ${shq(`@@missing ${p}`)}`).join('\n'), { sudo: true, timeoutMs: 60_000 });
  const lines = r.stdout.split('\n');
  return {
    present: lines.filter((l) => l.startsWith('@@present ')).map((l) => l.slice(10)),
    missing: lines.filter((l) => l.startsWith('@@missing ')).map((l) => l.slice(10)),
  };
}

/** `forget` by the retention policy, then `prune` when it removed anything. */
export async function applyRetention(session: DataSession, repo: OpenRepository): Promise<{ forgotten: number; kept: number }> {
  const { connection: conn, intent } = session;
  const args = forgetArgs(intent.persona, intent.retention);
  if (!args) return { forgotten: 0, kept: (await snapshotsIn(session, repo)).length };
  // A run killed mid-way (timeout, lost connection) leaves its lock; only stale ones go.
  await restic(conn, repo, ['unlock'], { timeoutMs: 300_000 });
  const run = await restic(conn, repo, args, { timeoutMs: 600_000 });
  if (run.code !== 0) throw resticFailure(`forgetting old snapshots of ${intent.persona}`, repo, run);
  // restic prints nothing at all when no snapshot matched the filter.
  const counts = countForget(run.stdout.trim() === '' ? [] : (jsonDocument<ForgetGroup[] | null>(run.stdout, 'restic forget') ?? []));
  if (counts.forgotten > 0) {
    const prune = await restic(conn, repo, ['prune', '--quiet'], { timeoutMs: session.timeoutMs ?? 6 * 3600_000 });
    if (prune.code !== 0) throw resticFailure(`pruning repository ${repo.name}`, repo, prune);
  }
  return counts;
}

interface Summary {
  readonly snapshot_id?: string;
  readonly files_new?: number;
  readonly files_changed?: number;
  readonly files_unmodified?: number;
  readonly data_added?: number;
  readonly total_files_processed?: number;
  readonly total_bytes_processed?: number;
}

/**
 * Capture the persona's data: create the repository if needed, take the snapshot with the
 * consistency strategy around it (tags `persona:<name>` and `commit:<sha>`, host = persona),
 * then apply the retention to this persona's snapshots only. The repository is served
 * append-only while the guest writes the snapshot.
 */
export async function backupData(session: DataSession, repository: RepositoryAccess, options: BackupOptions = {}): Promise<BackupResult> {
  const started = performance.now();
  const { connection: conn, intent, reporter } = session;
  const { present, missing } = await existingPaths(conn, intent.paths);
  if (present.length === 0) {
    throw captureError('LAB_CAPTURE_NO_DATA', `none of the capture paths of ${intent.persona} exists in ${conn.label}: ${intent.paths.join(', ')}`, {
      hint: 'converge the guest first (lab apply --persona <name>), or fix capture.paths',
    });
  }
  const warnings = missing.map((p) => `capture path ${p} does not exist in the guest and was skipped`);
  for (const w of warnings) reporter?.emit({ type: 'log', level: 'warn', message: w });

  const snapshot = await withRepository(conn, repository, { appendOnly: true }, async (repo) => {
    if (await initIfNeeded(conn, repo)) reporter?.emit({ type: 'log', level: 'info', message: `created restic repository ${repo.name}` });
    const args = [
      'backup',
      '--json',
      '--host',
      intent.persona,
      '--tag',
      personaTag(intent.persona),
      ...(options.commit ? ['--tag', `commit:${options.commit}`] : []),
      ...intent.exclude.flatMap((e) => ['--exclude', e]),
      ...present,
    ];
    const run = await withConsistency(
      conn,
      intent.consistency,
      intent.workload,
      async (budgetS) => {
        const r = await restic(conn, repo, args, budgetS !== undefined ? { timeoutS: budgetS } : { timeoutMs: session.timeoutMs ?? 6 * 3600_000 });
        // Exit 3: the snapshot was written but some files could not be read.
        if (r.code !== 0 && r.code !== 3) throw resticFailure(`backing up ${intent.persona}`, repo, r);
        return r;
      },
      reporter,
    );
    const lines = jsonLines(run.result.stdout);
    const summary = lines.find((l) => l['message_type'] === 'summary') as Summary | undefined;
    if (!summary?.snapshot_id) throw captureError('LAB_CAPTURE_RESTIC_FAILED', `backing up ${intent.persona}: restic reported no snapshot`, { detail: run.result.stderr.slice(-2000) });
    for (const e of lines.filter((l) => l['message_type'] === 'error')) {
      const item = typeof e['item'] === 'string' ? e['item'] : '?';
      const msg = (e['error'] as { message?: string } | undefined)?.message ?? 'unreadable';
      warnings.push(`${item}: ${msg}`);
    }
    warnings.push(...run.warnings);
    const info = (await snapshotsIn(session, repo, [summary.snapshot_id]))[0];
    if (!info) throw captureError('LAB_CAPTURE_RESTIC_FAILED', `snapshot ${summary.snapshot_id} of ${intent.persona} is not in repository ${repo.name} after the backup`);
    return { info, summary, paused: run.paused };
  });

  const retention = await withRepository(conn, repository, {}, (repo) => applyRetention(session, repo));
  const s = snapshot.summary;
  return {
    persona: intent.persona,
    repository: repository.name,
    snapshot: snapshot.info,
    files: s.total_files_processed ?? 0,
    filesNew: s.files_new ?? 0,
    filesChanged: s.files_changed ?? 0,
    bytesAdded: s.data_added ?? 0,
    bytesProcessed: s.total_bytes_processed ?? 0,
    durationMs: Math.round(performance.now() - started),
    paused: snapshot.paused,
    forgotten: retention.forgotten,
    kept: retention.kept,
    warnings,
  };
}
