import type { OpenRepository } from './_repository.js';
import { jsonDocument, restic, resticFailure } from './_restic.js';
import { withRepository } from './_repository.js';
import { captureError } from './errors.js';
import { personaFilter } from './retention.js';
import type { DataSession, RepositoryAccess, SnapshotInfo } from './types.js';

/** A snapshot as `restic snapshots --json` prints it. */
interface ResticSnapshot {
  readonly id: string;
  readonly short_id?: string;
  readonly time: string;
  readonly paths?: readonly string[];
  readonly tags?: readonly string[] | null;
}

/**
 * restic prints a snapshot's time in the local zone of the machine that took it
 * (`2026-03-29T03:30:00.123456789+02:00`); lab shows and compares times in UTC, so it is
 * normalised here, once (ISO 8601, `Z`, milliseconds).
 */
function utc(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

export function toSnapshotInfo(s: ResticSnapshot): SnapshotInfo {
  const tags = [...(s.tags ?? [])];
  const commit = tags.find((t) => t.startsWith('commit:'))?.slice('commit:'.length);
  return { id: s.id, shortId: s.short_id ?? s.id.slice(0, 8), time: utc(s.time), paths: [...(s.paths ?? [])], tags, ...(commit ? { commit } : {}) };
}

/** The persona's snapshots in an open repository, newest first. */
export async function snapshotsIn(session: DataSession, repo: OpenRepository, which: readonly string[] = []): Promise<SnapshotInfo[]> {
  const run = await restic(session.connection, repo, ['snapshots', '--json', ...personaFilter(session.intent.persona), ...which], { timeoutMs: 600_000 });
  if (run.code !== 0) throw resticFailure(`listing the snapshots of ${session.intent.persona}`, repo, run, session.intent.persona);
  const list = jsonDocument<ResticSnapshot[] | null>(run.stdout, 'restic snapshots') ?? [];
  return list.map(toSnapshotInfo).sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
}

/** One snapshot of the persona: the one named (an id or its prefix), else the newest. */
export async function findSnapshot(session: DataSession, repo: OpenRepository, id?: string): Promise<SnapshotInfo> {
  const all = await snapshotsIn(session, repo);
  const found = id === undefined ? all[0] : all.find((s) => s.id.startsWith(id));
  if (found) return found;
  const persona = session.intent.persona;
  throw captureError(
    'LAB_CAPTURE_NO_SNAPSHOT',
    id === undefined ? `repository ${repo.name} holds no snapshot of ${persona}` : `repository ${repo.name} holds no snapshot ${id} of ${persona}`,
    { hint: id === undefined ? `take one: lab capture data --persona ${persona}` : `list them: lab capture snapshots --persona ${persona}` },
  );
}

/** The persona's snapshots in its repository, newest first. */
export function listSnapshots(session: DataSession, repository: RepositoryAccess): Promise<SnapshotInfo[]> {
  return withRepository(session.connection, repository, { appendOnly: true }, (repo) => snapshotsIn(session, repo));
}
