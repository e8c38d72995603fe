import { defineCommand } from 'citty';
import { ExitCode, formatMs } from '@lab/core';
import { captureData, dataSnapshots, replicatePersonaData, restorePersonaData, verifyData } from '@lab/engine';
import { formatSize } from '@lab/intent';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { confirm } from '../layer-verbs.js';

/**
 * `lab capture data|verify|replicate|snapshots` and `lab restore data` over the engine's data
 * capture runs (docs/capture-data.md). Results go to stdout (`--json` for a document), progress
 * to stderr.
 */

const personaArg = { type: 'string', description: 'The persona', valueHint: 'name', required: true } as const;

function show(ctx: CliContext, value: unknown, human: string): void {
  if (ctx.json) ctx.io.out(JSON.stringify(value, null, 2));
  else ctx.io.out(human);
}

export const captureDataCommand = defineCommand({
  meta: { name: 'data', description: 'Back up a persona’s data paths with restic (creates the repository, applies retention)' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const { persona, result } = await captureData(ctx, args.persona);
    const paused = result.paused.length > 0 ? `; paused ${result.paused.join(', ')}` : '';
    show(
      ctx,
      result,
      `Captured ${persona.name}: snapshot ${result.snapshot.shortId} in ${result.repository} — ${result.files} files, ${formatSize(result.bytesAdded)} added, ${formatMs(result.durationMs)}${paused}; retention forgot ${result.forgotten}, ${result.kept} kept`,
    );
    return ExitCode.Ok;
  },
});

export const captureSnapshotsCommand = defineCommand({
  meta: { name: 'snapshots', description: 'List a persona’s restic snapshots; the newest is flagged unverified until a restore drill passes' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const s = await dataSnapshots(ctx, args.persona);
    if (ctx.json) {
      ctx.io.out(JSON.stringify(s, null, 2));
      return ExitCode.Ok;
    }
    const rows = s.snapshots;
    if (rows.length === 0) {
      ctx.io.out(`${s.persona} has no snapshots in ${s.repository}; take one: lab capture data --persona ${s.persona}`);
      return ExitCode.Ok;
    }
    const latest = rows[0]!;
    ctx.io.out(['ID        TIME                       COMMIT        VERIFIED', ...rows.map((r) => `${r.shortId}  ${r.time.slice(0, 19).replace('T', ' ')} UTC    ${(r.commit ?? '-').padEnd(12)}  ${r.verified ? 'yes' : 'no'}`)].join('\n'));
    ctx.io.out(
      s.latest === 'verified'
        ? `latest snapshot ${latest.shortId} is verified`
        : `latest snapshot ${latest.shortId} is unverified: run a restore drill: lab capture verify --persona ${s.persona}`,
    );
    return ExitCode.Ok;
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
    const { persona, result: r } = await verifyData(ctx, args.persona, {
      ...(args.snapshot ? { snapshot: args.snapshot } : {}),
      readDataSubset: args['read-data'],
      onFailed: (failed) => {
        if (ctx.json) ctx.io.out(JSON.stringify(failed, null, 2));
      },
    });
    show(ctx, r, `Verified ${persona.name}: snapshot ${r.snapshot.shortId} restored and checked — ${r.files} files, ${formatSize(r.bytes)}, restic check read ${r.readDataSubset} of the packs, ${formatMs(r.durationMs)}`);
    return ExitCode.Ok;
  },
});

export const captureReplicateCommand = defineCommand({
  meta: { name: 'replicate', description: 'Copy a persona’s snapshots to its replica repository (capture.replicate)' },
  args: { ...globalArgs, persona: personaArg },
  async run({ args }) {
    const ctx = createContext(args);
    const { persona, result: r } = await replicatePersonaData(ctx, args.persona);
    show(ctx, r, `Replicated ${persona.name} from ${r.from} to ${r.to}: ${r.copied} snapshots copied, ${r.skipped} already there, ${r.forgotten} forgotten by retention, ${formatMs(r.durationMs)}`);
    return ExitCode.Ok;
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
    const name = args.persona;
    const { persona, result: r } = await restorePersonaData(ctx, name, {
      ...(args.snapshot ? { snapshot: args.snapshot } : {}),
      ...(args.target ? { target: args.target } : {}),
      confirm: async (p, stacks) => {
        const list = (xs: readonly string[]) => xs.slice(0, MAX_SHOWN).map((x) => `    ${x}`).concat(xs.length > MAX_SHOWN ? [`    … and ${xs.length - MAX_SHOWN} more`] : []);
        ctx.io.err(
          [
            `Restore snapshot ${p.snapshot.shortId} of ${name} (${p.snapshot.time.slice(0, 19).replace('T', ' ')} UTC) in place:`,
            `  ${p.overwrite.length} files will be overwritten${p.overwrite.length > 0 ? ':' : ''}`,
            ...list(p.overwrite),
            `  ${p.create.length} files will be created, ${p.unchanged} are unchanged`,
            `  ${p.extra.length} files not in the snapshot stay as they are`,
            stacks.length > 0 ? `  stacks ${stacks.join(', ')} are stopped during the restore and started again` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        await confirm(ctx, `Overwrite ${p.overwrite.length} files of ${name}?`, args.yes);
      },
    });
    show(ctx, r, `Restored snapshot ${r.snapshot.shortId} of ${persona.name} to ${r.target === '/' ? 'its original paths' : r.target}: ${r.files} files, ${formatMs(r.durationMs)}`);
    return ExitCode.Ok;
  },
});
