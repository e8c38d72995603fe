import { execFile } from 'node:child_process';
import { defineCommand } from 'citty';
import { ExitCode, formatMs, LabError, isLabError } from '@lab/core';
import { formatSize, loadLab, type Lab, type LoadedPersona } from '@lab/intent';
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
  type DataCaptureIntent,
  type DataSession,
  type RepositoryAccess,
  type RepositoryRef,
  type SnapshotInfo,
} from '@lab/capture';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { beginRun, readJournal, type JournalCommand, type RunRecorder } from '../journal/index.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { guestConnection } from '../layers/guest-ssh.js';
import { confirm } from '../layers/run.js';
import { selectPersonas } from '../layers/select.js';

/**
 * `lab capture data|verify|replicate|snapshots` and `lab restore data`: restic backups of a
 * persona's data, run in its guest over the lab's SSH connection (docs/capture-data.md).
 * Results go to stdout (`--json` for a document), progress to stderr; capture, verify and
 * restore runs are journalled.
 */

const personaArg = { type: 'string', description: 'The persona', valueHint: 'name', required: true } as const;

interface Opened {
  readonly lab: Lab;
  readonly persona: LoadedPersona;
  readonly intent: DataCaptureIntent;
  readonly session: LayerSession;
}

async function open(ctx: CliContext, name: string): Promise<Opened> {
  const lab = await loadLab(ctx.root());
  const [persona] = selectPersonas(lab, name, false, true);
  const intent = dataCaptureIntent(lab.site.site, lab.root, persona!);
  const session = createLayerContext(lab, [persona!], ctx.reporter, { allowReboot: false, destroyData: false, targets: [] });
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

/** HEAD of the lab's Git repository, for the snapshot's `commit:` tag; undefined outside Git. */
function labCommit(root: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, timeout: 10_000 }, (error, stdout) => resolve(error ? undefined : String(stdout).trim() || undefined));
  });
}

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
async function inGuest<T>(ctx: CliContext, o: Opened, command: JournalCommand | undefined, fn: (g: InGuest) => Promise<T>): Promise<T> {
  const rec = command ? beginRun(command, { root: o.lab.root, reporter: ctx.reporter, personas: [o.persona.name] }) : undefined;
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

function show(ctx: CliContext, value: unknown, human: string): void {
  if (ctx.json) ctx.io.out(JSON.stringify(value, null, 2));
  else ctx.io.out(human);
}

export const captureDataCommand = defineCommand({
  meta: { name: 'data', description: 'Back up a persona’s data paths with restic (creates the repository, applies retention)' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const o = await open(ctx, args.persona);
    return inGuest(ctx, o, 'capture', async ({ data, repo, rec }) => {
      const commit = await labCommit(o.lab.root);
      const result = await backupData(data, repo, commit ? { commit } : {});
      await rec?.ok({ kind: 'data', repository: result.repository, snapshot: result.snapshot.id, files: result.files, bytesAdded: result.bytesAdded, forgotten: result.forgotten, warnings: result.warnings.length });
      for (const w of result.warnings) ctx.reporter.emit({ type: 'log', level: 'warn', message: w });
      const paused = result.paused.length > 0 ? `; paused ${result.paused.join(', ')}` : '';
      show(
        ctx,
        result,
        `Captured ${o.persona.name}: snapshot ${result.snapshot.shortId} in ${result.repository} — ${result.files} files, ${formatSize(result.bytesAdded)} added, ${formatMs(result.durationMs)}${paused}; retention forgot ${result.forgotten}, ${result.kept} kept`,
      );
      return ExitCode.Ok;
    });
  },
});

/** Snapshot ids a successful drill verified, from the journal. */
async function verifiedIds(root: string, persona: string): Promise<Set<string>> {
  const { entries } = await readJournal(root);
  const ids = entries
    .filter((e) => e.command === 'verify' && e.result === 'ok' && e.personas.includes(persona) && e.details?.['verified'] === true)
    .map((e) => e.details?.['snapshot'])
    .filter((id): id is string => typeof id === 'string');
  return new Set(ids);
}

export const captureSnapshotsCommand = defineCommand({
  meta: { name: 'snapshots', description: 'List a persona’s restic snapshots; the newest is flagged unverified until a restore drill passes' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const o = await open(ctx, args.persona);
    return inGuest(ctx, o, undefined, async ({ data, repo }) => {
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
      if (ctx.json) {
        ctx.io.out(JSON.stringify({ persona: o.persona.name, repository: o.intent.repository.name, latest: status, snapshots: rows }, null, 2));
        return ExitCode.Ok;
      }
      if (rows.length === 0) {
        ctx.io.out(`${o.persona.name} has no snapshots in ${o.intent.repository.name}; take one: lab capture data --persona ${o.persona.name}`);
        return ExitCode.Ok;
      }
      ctx.io.out(['ID        TIME                       COMMIT        VERIFIED', ...rows.map((r) => `${r.shortId}  ${r.time.slice(0, 19).replace('T', ' ')} UTC    ${(r.commit ?? '-').padEnd(12)}  ${r.verified ? 'yes' : 'no'}`)].join('\n'));
      ctx.io.out(
        status === 'verified'
          ? `latest snapshot ${latest!.shortId} is verified`
          : `latest snapshot ${latest!.shortId} is unverified: run a restore drill: lab capture verify --persona ${o.persona.name}`,
      );
      return ExitCode.Ok;
    });
  },
});

export const captureVerifyCommand = defineCommand({
  meta: { name: 'verify', description: 'Restore drill: restore the newest snapshot into a scratch directory of the guest and verify it' },
  args: {
    ...globalArgs,
    persona: personaArg,
    snapshot: { type: 'string', description: 'Snapshot id (default: the newest)', valueHint: 'id' },
    'read-data': { type: 'string', description: 'Share of the repository restic check reads back, e.g. 10% or 1/5', default: '10%', valueHint: 'subset' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const o = await open(ctx, args.persona);
    return inGuest(ctx, o, 'verify', async ({ data, repo, rec }) => {
      const r = await verifyRestore(data, repo, { ...(args.snapshot ? { snapshot: args.snapshot } : {}), readDataSubset: args['read-data'] });
      const details = { snapshot: r.snapshot.id, files: r.files, bytes: r.bytes, verified: r.verified, problems: r.problems.length, readData: r.readDataSubset };
      for (const n of r.notes) ctx.reporter.emit({ type: 'log', level: 'warn', message: n });
      if (!r.verified) {
        const error = new LabError({
          code: 'LAB_CAPTURE_VERIFY_FAILED',
          summary: `the restore drill of ${o.persona.name} failed for snapshot ${r.snapshot.shortId}`,
          detail: r.problems.join('\n'),
          hint: `take a fresh capture (lab capture data --persona ${o.persona.name}) and check the repository with restic check --read-data`,
        });
        if (ctx.json) ctx.io.out(JSON.stringify(r, null, 2));
        await rec?.failed(error, details);
        throw error;
      }
      await rec?.ok(details);
      show(ctx, r, `Verified ${o.persona.name}: snapshot ${r.snapshot.shortId} restored and checked — ${r.files} files, ${formatSize(r.bytes)}, restic check read ${r.readDataSubset} of the packs, ${formatMs(r.durationMs)}`);
      return ExitCode.Ok;
    });
  },
});

export const captureReplicateCommand = defineCommand({
  meta: { name: 'replicate', description: 'Copy a persona’s snapshots to its replica repository (capture.replicate)' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const o = await open(ctx, args.persona);
    const to = o.intent.replicate;
    if (!to) {
      await o.session.close();
      throw new LabError({ code: 'LAB_CAPTURE_NO_REPLICA', summary: `persona ${o.persona.name} declares no replica repository`, hint: `add capture.replicate: { repository: <name> } to ${o.persona.file}` });
    }
    // Not journalled: the journal's "last backup" means a new snapshot, which a copy is not.
    return inGuest(ctx, o, undefined, async ({ data, repo }) => {
      const r = await replicateData(data, repo, await access(o.session, to));
      show(ctx, r, `Replicated ${o.persona.name} from ${r.from} to ${r.to}: ${r.copied} snapshots copied, ${r.skipped} already there, ${r.forgotten} forgotten by retention, ${formatMs(r.durationMs)}`);
      return ExitCode.Ok;
    });
  },
});

const MAX_SHOWN = 20;

export const restoreDataCommand = defineCommand({
  meta: { name: 'data', description: 'Restore a persona’s data from a restic snapshot, in place (stacks paused) or into a directory of the guest' },
  args: {
    ...globalArgs,
    persona: personaArg,
    snapshot: { type: 'string', description: 'Snapshot id (default: the newest)', valueHint: 'id' },
    target: { type: 'string', description: 'Restore under this directory of the guest instead of in place', valueHint: 'dir' },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const o = await open(ctx, args.persona);
    return inGuest(ctx, o, 'restore', async ({ data, repo, rec }) => {
      if (!args.target) {
        const p = await previewRestore(data, repo, args.snapshot);
        const list = (xs: readonly string[]) => xs.slice(0, MAX_SHOWN).map((x) => `    ${x}`).concat(xs.length > MAX_SHOWN ? [`    … and ${xs.length - MAX_SHOWN} more`] : []);
        ctx.io.err(
          [
            `Restore snapshot ${p.snapshot.shortId} of ${o.persona.name} (${p.snapshot.time.slice(0, 19).replace('T', ' ')} UTC) in place:`,
            `  ${p.overwrite.length} files will be overwritten${p.overwrite.length > 0 ? ':' : ''}`,
            ...list(p.overwrite),
            `  ${p.create.length} files will be created, ${p.unchanged} are unchanged`,
            `  ${p.extra.length} files not in the snapshot stay as they are`,
            o.intent.workload.stacks.length > 0 ? `  stacks ${o.intent.workload.stacks.join(', ')} are stopped during the restore and started again` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        await confirm(ctx, `Overwrite ${p.overwrite.length} files of ${o.persona.name}?`, args.yes);
      }
      const r = await restoreData(data, repo, { ...(args.snapshot ? { snapshot: args.snapshot } : {}), ...(args.target ? { target: args.target } : {}) });
      await rec?.ok({ snapshot: r.snapshot.id, files: r.files, target: r.target });
      show(ctx, r, `Restored snapshot ${r.snapshot.shortId} of ${o.persona.name} to ${r.target === '/' ? 'its original paths' : r.target}: ${r.files} files, ${formatMs(r.durationMs)}`);
      return ExitCode.Ok;
    });
  },
});

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
