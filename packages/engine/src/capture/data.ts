import { gitHead, isLabError, LabError } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import {
  backupData,
  dataCaptureIntent,
  ensureRestic,
  listSnapshots,
  previewRestore,
  replicateData,
  repositoryAccess,
  restoreData,
  verifyRestore,
  type BackupResult,
  type DataCaptureIntent,
  type DataSession,
  type ReplicateResult,
  type RepositoryAccess,
  type RepositoryRef,
  type RestorePreview,
  type RestoreResult,
  type SnapshotInfo,
  type VerifyResult,
} from '@lab/capture';
import type { EngineEnv } from '../env.js';
import { beginRun, readJournal, type JournalCommand, type RunRecorder } from '../journal/index.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { guestConnection } from '../layers/guest-ssh.js';
import { selectPersonas } from '../layers/select.js';

/**
 * Data capture runs — `lab capture data|verify|replicate|snapshots` and `lab restore data`:
 * restic backups of a persona's data, run in its guest over the lab's SSH connection
 * (docs/capture-data.md). Capture, verify and restore runs are journalled; results are returned,
 * the caller renders them.
 */

interface Opened {
  readonly lab: Lab;
  readonly persona: LoadedPersona;
  readonly intent: DataCaptureIntent;
  readonly session: LayerSession;
}

async function open(env: EngineEnv, name: string): Promise<Opened> {
  const lab = await loadLab(env.root());
  const [persona] = selectPersonas(lab, name, false, true);
  const intent = dataCaptureIntent(lab.site.site, lab.root, persona!);
  const session = createLayerContext(lab, [persona!], env.reporter, { allowReboot: false, destroyData: false, targets: [] });
  return { lab, persona: persona!, intent, session };
}

async function access(session: LayerSession, ref: RepositoryRef): Promise<RepositoryAccess> {
  return repositoryAccess(ref, await session.secrets().get(ref.passwordSecret));
}

/** The persona's guest over the lab's SSH connection, with restic installed. */
async function dataSession(session: LayerSession, persona: LoadedPersona, intent: DataCaptureIntent): Promise<DataSession> {
  const connection = await guestConnection(session, persona);
  await ensureRestic(connection, session.reporter);
  return { connection, intent, reporter: session.reporter };
}

/** HEAD of the lab's Git repository, for the snapshot's `commit:` tag (as the journal has it); undefined outside Git. */
const labCommit = (root: string): Promise<string | undefined> => gitHead(root);

interface InGuest {
  readonly data: DataSession;
  /** The persona's repository, its password read from the lab's secrets. */
  readonly repo: RepositoryAccess;
  /** The run's journal record, when the command is journalled. */
  readonly rec: RunRecorder | undefined;
}

/**
 * Run a data command in the persona's guest: connect (restic installed), open its repository,
 * journal the run when `command` is given (failures too), and close the session in the end.
 */
async function inGuest<T>(env: EngineEnv, o: Opened, command: JournalCommand | undefined, fn: (g: InGuest) => Promise<T>): Promise<T> {
  const rec = command ? beginRun(command, { root: o.lab.root, reporter: env.reporter, personas: [o.persona.name] }) : undefined;
  rec?.track(o.session);
  try {
    const data = await dataSession(o.session, o.persona, o.intent);
    return await fn({ data, repo: await access(o.session, o.intent.repository), rec });
  } catch (error) {
    await rec?.failed(error);
    throw error;
  } finally {
    await o.session.close();
  }
}

/** One data run's result, with the persona it was about. */
export interface DataRun<R> {
  readonly persona: LoadedPersona;
  readonly result: R;
}

/** `lab capture data`: back up the persona's data paths (retention applied), journalled; warnings go to the reporter. */
export async function captureData(env: EngineEnv, personaName: string): Promise<DataRun<BackupResult>> {
  const o = await open(env, personaName);
  return inGuest(env, o, 'capture', async ({ data, repo, rec }) => {
    const commit = await labCommit(o.lab.root);
    const result = await backupData(data, repo, commit ? { commit } : {});
    await rec?.ok({ kind: 'data', repository: result.repository, snapshot: result.snapshot.id, files: result.files, bytesAdded: result.bytesAdded, forgotten: result.forgotten, warnings: result.warnings.length });
    for (const w of result.warnings) env.reporter.emit({ type: 'log', level: 'warn', message: w });
    return { persona: o.persona, result };
  });
}

/** Snapshot ids a successful drill verified, from the journal. */
async function verifiedIds(root: string, persona: string): Promise<Set<string>> {
  const { entries } = await readJournal(root);
  const ids = entries
    .filter((e) => e.command === 'verify' && e.result === 'ok' && e.personas.includes(persona) && e.details?.['verified'] === true)
    .map((e) => e.details?.['snapshot'])
    .filter((id): id is string => typeof id === 'string');
  return new Set(ids);
}

/** A persona's snapshots, newest first, each flagged verified when a restore drill passed on it. */
export interface DataSnapshots {
  readonly persona: string;
  readonly repository: string;
  /** The newest snapshot's state. */
  readonly latest: 'none' | 'verified' | 'unverified';
  readonly snapshots: readonly (SnapshotInfo & { readonly verified: boolean })[];
}

/** `lab capture snapshots`: the persona's restic snapshots (none when the repository does not exist yet). */
export async function dataSnapshots(env: EngineEnv, personaName: string): Promise<DataSnapshots> {
  const o = await open(env, personaName);
  return inGuest(env, o, undefined, async ({ data, repo }) => {
    let snapshots: SnapshotInfo[] = [];
    try {
      snapshots = await listSnapshots(data, repo);
    } catch (error) {
      if (!(isLabError(error) && error.code === 'LAB_CAPTURE_NO_REPOSITORY')) throw error;
    }
    const verified = await verifiedIds(o.lab.root, o.persona.name);
    const rows = snapshots.map((x) => ({ ...x, verified: verified.has(x.id) }));
    const latest = rows[0];
    const status = latest === undefined ? 'none' : latest.verified ? 'verified' : 'unverified';
    return { persona: o.persona.name, repository: o.intent.repository.name, latest: status, snapshots: rows };
  });
}

export interface VerifyDataOptions {
  /** Snapshot id; default: the newest. */
  readonly snapshot?: string;
  /** Share of the repository `restic check` reads back, e.g. `10%`. */
  readonly readDataSubset: string;
  /** Called with the drill's result before a failed drill throws. */
  readonly onFailed?: (result: VerifyResult) => void;
}

/**
 * `lab capture verify`: the restore drill — restore a snapshot into a scratch directory of the
 * guest and verify it; journalled. A failed drill throws LAB_CAPTURE_VERIFY_FAILED.
 */
export async function verifyData(env: EngineEnv, personaName: string, options: VerifyDataOptions): Promise<DataRun<VerifyResult>> {
  const o = await open(env, personaName);
  return inGuest(env, o, 'verify', async ({ data, repo, rec }) => {
    const r = await verifyRestore(data, repo, { ...(options.snapshot ? { snapshot: options.snapshot } : {}), readDataSubset: options.readDataSubset });
    const details = { snapshot: r.snapshot.id, files: r.files, bytes: r.bytes, verified: r.verified, problems: r.problems.length, readData: r.readDataSubset };
    for (const n of r.notes) env.reporter.emit({ type: 'log', level: 'warn', message: n });
    if (!r.verified) {
      const error = new LabError({
        code: 'LAB_CAPTURE_VERIFY_FAILED',
        summary: `the restore drill of ${o.persona.name} failed for snapshot ${r.snapshot.shortId}`,
        detail: r.problems.join('\n'),
        hint: `take a fresh capture (lab capture data --persona ${o.persona.name}) and check the repository with restic check --read-data`,
      });
      options.onFailed?.(r);
      await rec?.failed(error, details);
      throw error;
    }
    await rec?.ok(details);
    return { persona: o.persona, result: r };
  });
}

/** `lab capture replicate`: copy the persona's snapshots to its replica repository (not journalled: a copy is no new backup). */
export async function replicatePersonaData(env: EngineEnv, personaName: string): Promise<DataRun<ReplicateResult>> {
  const o = await open(env, personaName);
  const to = o.intent.replicate;
  if (!to) {
    await o.session.close();
    throw new LabError({ code: 'LAB_CAPTURE_NO_REPLICA', summary: `persona ${o.persona.name} declares no replica repository`, hint: `add capture.replicate: { repository: <name> } to ${o.persona.file}` });
  }
  return inGuest(env, o, undefined, async ({ data, repo }) => ({ persona: o.persona, result: await replicateData(data, repo, await access(o.session, to)) }));
}

export interface RestoreDataOptions {
  /** Snapshot id; default: the newest. */
  readonly snapshot?: string;
  /** Restore under this directory of the guest instead of in place. */
  readonly target?: string;
  /**
   * An in-place restore overwrites data: called with what it would overwrite and create (and the
   * stacks it pauses) before anything changes; throws to stop.
   */
  readonly confirm: (preview: RestorePreview, stacks: readonly string[]) => Promise<void>;
}

/** `lab restore data`: restore a snapshot in place (stacks paused, confirmed first) or into a directory; journalled. */
export async function restorePersonaData(env: EngineEnv, personaName: string, options: RestoreDataOptions): Promise<DataRun<RestoreResult>> {
  const o = await open(env, personaName);
  return inGuest(env, o, 'restore', async ({ data, repo, rec }) => {
    if (!options.target) await options.confirm(await previewRestore(data, repo, options.snapshot), o.intent.workload.stacks);
    const r = await restoreData(data, repo, { ...(options.snapshot ? { snapshot: options.snapshot } : {}), ...(options.target ? { target: options.target } : {}) });
    await rec?.ok({ snapshot: r.snapshot.id, files: r.files, target: r.target });
    return { persona: o.persona, result: r };
  });
}

/**
 * The capture and restore steps of `lab rebuild` (its RebuildPorts): the same operations as the
 * commands, on the rebuild's session, journalled by the rebuild itself.
 */
export async function captureDataFor(session: LayerSession, persona: LoadedPersona): Promise<{ readonly snapshot: string }> {
  const intent = dataCaptureIntent(session.lab.site.site, session.lab.root, persona);
  const data = await dataSession(session, persona, intent);
  const commit = await labCommit(session.lab.root);
  const r = await backupData(data, await access(session, intent.repository), commit ? { commit } : {});
  return { snapshot: r.snapshot.id };
}

export async function restoreDataFor(session: LayerSession, persona: LoadedPersona, snapshot: string): Promise<void> {
  const intent = dataCaptureIntent(session.lab.site.site, session.lab.root, persona);
  await restoreData(await dataSession(session, persona, intent), await access(session, intent.repository), { snapshot });
}
