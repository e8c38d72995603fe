import { withRepository } from './_repository.js';
import { restic, resticFailure } from './_restic.js';
import { applyRetention, initIfNeeded } from './backup.js';
import { personaFilter } from './retention.js';
import type { DataSession, RepositoryAccess, ReplicateResult } from './types.js';

/**
 * Copy the persona's snapshots to a second repository (`restic copy`): snapshots already there
 * are skipped, so running it again is cheap. The destination is created with the source's
 * chunker parameters (deduplication carries over) and gets the persona's retention too, so it
 * does not keep growing with snapshots the source has long forgotten.
 */
export async function replicateData(session: DataSession, from: RepositoryAccess, to: RepositoryAccess): Promise<ReplicateResult> {
  const started = performance.now();
  const { connection: conn, intent, reporter } = session;
  return withRepository(conn, from, { appendOnly: true }, (src) =>
    withRepository(conn, to, {}, async (dst) => {
      if (await initIfNeeded(conn, dst, src)) reporter?.emit({ type: 'log', level: 'info', message: `created restic repository ${dst.name}` });
      const run = await restic(conn, dst, ['copy', ...personaFilter(intent.persona)], { from: src, timeoutMs: session.timeoutMs ?? 6 * 3600_000 });
      if (run.code !== 0) throw resticFailure(`copying the snapshots of ${intent.persona} from ${src.name} to ${dst.name}`, dst, run, intent.persona);
      const text = `${run.stdout}\n${run.stderr}`;
      const copied = (text.match(/^snapshot [0-9a-f]+ saved/gm) ?? []).length;
      const skipped = (text.match(/^skipping source snapshot [0-9a-f]+/gm) ?? []).length;
      const { forgotten } = await applyRetention(session, dst);
      return { from: src.name, to: dst.name, copied, skipped, forgotten, durationMs: Math.round(performance.now() - started) };
    }),
  );
}
