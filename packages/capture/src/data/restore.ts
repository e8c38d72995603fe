import { toLabError } from '@lab/core';
import { shq } from '@lab/ssh';
import { withRepository, type OpenRepository } from './_repository.js';
import { jsonLines, restic, resticFailure } from './_restic.js';
import { pauseStacks } from './consistency.js';
import { captureError } from './errors.js';
import { findSnapshot } from './snapshots.js';
import type { DataSession, RepositoryAccess, RestorePreview, RestoreResult, SnapshotInfo } from './types.js';

/** One entry of a snapshot's tree (`restic ls --json`). */
export interface TreeNode {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly size: number;
  /** Modification time, whole seconds since the epoch. */
  readonly mtime: number;
}

function nodeType(t: unknown): TreeNode['type'] {
  return t === 'file' || t === 'dir' || t === 'symlink' ? t : 'other';
}

/** Every node of a snapshot, with absolute paths as in the guest. */
export async function snapshotTree(session: DataSession, repo: OpenRepository, snapshot: SnapshotInfo): Promise<TreeNode[]> {
  const run = await restic(session.connection, repo, ['ls', '--json', snapshot.id], { timeoutMs: 1_800_000 });
  if (run.code !== 0) throw resticFailure(`listing snapshot ${snapshot.shortId}`, repo, run);
  return jsonLines(run.stdout)
    .filter((l) => l['struct_type'] === 'node' && typeof l['path'] === 'string')
    .map((l) => ({
      path: l['path'] as string,
      type: nodeType(l['type']),
      size: typeof l['size'] === 'number' ? l['size'] : 0,
      mtime: Math.floor(Date.parse(String(l['mtime'] ?? '')) / 1000),
    }));
}

/** `find` of the given roots in the guest: type (f, d, l…), size, mtime, path; NUL-separated. */
export async function liveTree(session: DataSession, roots: readonly string[], prefix = ''): Promise<Map<string, TreeNode>> {
  const script = roots.map((r) => `[ ! -e ${shq(prefix + r)} ] || find ${shq(prefix + r)} -printf '%y %s %T@ %p\\0'`).join('\n');
  const r = await session.connection.script(script, { sudo: true, fresh: true, timeoutMs: 1_800_000 });
  if (r.code !== 0) throw captureError('LAB_CAPTURE_RESTIC_FAILED', `cannot list ${roots.join(', ')} in ${session.connection.label}`, { detail: r.stderr.slice(-1000) });
  const out = new Map<string, TreeNode>();
  for (const rec of r.stdout.split('\0')) {
    const m = /^(\S) (\d+) (\d+)(?:\.\d+)? (.*)$/s.exec(rec);
    if (!m) continue;
    const path = m[4]!.slice(prefix.length);
    const type = m[1] === 'f' ? 'file' : m[1] === 'd' ? 'dir' : m[1] === 'l' ? 'symlink' : 'other';
    out.set(path, { path, type, size: Number(m[2]), mtime: Number(m[3]) });
  }
  return out;
}

/** Compare a snapshot with the live files: what an in-place restore overwrites and creates. */
export function compareTrees(snapshot: SnapshotInfo, tree: readonly TreeNode[], live: ReadonlyMap<string, TreeNode>): RestorePreview {
  const overwrite: string[] = [];
  const create: string[] = [];
  let unchanged = 0;
  const inSnapshot = new Set<string>();
  for (const n of tree) {
    inSnapshot.add(n.path);
    if (n.type !== 'file' && n.type !== 'symlink') continue;
    const l = live.get(n.path);
    if (!l) create.push(n.path);
    // restic records no size for a symlink: its type and time tell whether it changed.
    else if (l.type !== n.type || (n.type === 'file' && l.size !== n.size) || l.mtime !== n.mtime) overwrite.push(n.path);
    else unchanged += 1;
  }
  const extra = [...live.values()].filter((l) => l.type !== 'dir' && !inSnapshot.has(l.path)).map((l) => l.path);
  return { snapshot, overwrite: overwrite.sort(), create: create.sort(), unchanged, extra: extra.sort() };
}

/** What `restoreData` in place would do to the guest's files right now. */
export function previewRestore(session: DataSession, repository: RepositoryAccess, snapshotId?: string): Promise<RestorePreview> {
  return withRepository(session.connection, repository, { appendOnly: true }, async (repo) => {
    const snapshot = await findSnapshot(session, repo, snapshotId);
    const [tree, live] = await Promise.all([snapshotTree(session, repo, snapshot), liveTree(session, snapshot.paths)]);
    return compareTrees(snapshot, tree, live);
  });
}

/** Symlinks of the snapshot that exist as symlinks in the guest now. */
async function liveLinks(session: DataSession, tree: readonly TreeNode[]): Promise<string[]> {
  const wanted = tree.filter((n) => n.type === 'symlink').map((n) => n.path);
  if (wanted.length === 0) return [];
  const r = await session.connection.script(wanted.map((p) => `[ -L ${shq(p)} ] && echo ${shq(`@@link ${p}`)}`).concat('true').join('\n'), { sudo: true, fresh: true, timeoutMs: 600_000 });
  return r.stdout.split('\n').filter((l) => l.startsWith('@@link ')).map((l) => l.slice('@@link '.length));
}

export interface RestoreOptions {
  /** Snapshot id or prefix; default the newest of the persona. */
  readonly snapshot?: string;
  /** Restore under this directory of the guest instead of in place. */
  readonly target?: string;
}

/**
 * Restore a snapshot of the persona. In place (the default) the persona's running stacks are
 * stopped first and started again afterwards, whatever happens; files of the snapshot replace
 * the live ones, files the snapshot does not have are left alone (restic 0.14 has no
 * `--delete`). With `target`, the snapshot's paths appear under that directory.
 */
export async function restoreData(session: DataSession, repository: RepositoryAccess, options: RestoreOptions = {}): Promise<RestoreResult> {
  const started = performance.now();
  const { connection: conn, intent, reporter } = session;
  return withRepository(conn, repository, { appendOnly: true }, async (repo) => {
    const snapshot = await findSnapshot(session, repo, options.snapshot);
    const tree = await snapshotTree(session, repo, snapshot);
    const files = tree.filter((n) => n.type === 'file').length;
    const target = options.target ?? '/';
    // restic 0.14 cannot replace an existing symlink ("file exists"); in place, those go first.
    const links = options.target ? [] : await liveLinks(session, tree);
    const before = options.target ? `mkdir -p ${shq(options.target)} || return 1` : links.map((l) => `rm -f -- ${shq(l)} || return 1`).join('\n');
    const run = async () => {
      const r = await restic(conn, repo, ['restore', snapshot.id, '--target', target], {
        ...(before ? { before } : {}),
        timeoutMs: session.timeoutMs ?? 6 * 3600_000,
      });
      if (r.code !== 0) throw resticFailure(`restoring snapshot ${snapshot.shortId} of ${intent.persona}`, repo, r);
    };
    if (options.target) {
      await run();
      return { snapshot, target, files, paused: [], durationMs: Math.round(performance.now() - started) };
    }
    const paused = await pauseStacks(conn, intent.workload, reporter);
    try {
      await run();
    } catch (error) {
      await paused.resume().catch((e: unknown) => reporter?.emit({ type: 'log', level: 'warn', message: toLabError(e).summary }));
      throw error;
    }
    await paused.resume();
    return { snapshot, target, files, paused: paused.stacks, durationMs: Math.round(performance.now() - started) };
  });
}
