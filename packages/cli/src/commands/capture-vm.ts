import { defineCommand } from 'citty';
import { ExitCode, hasErrors, LabError } from '@lab/core';
import { captureTemplate, captureVms, restoreVm, vmBackups } from '@lab/engine';
import { createContext, globalArgs } from '../context.js';
import { confirm } from '../layer-verbs.js';

/**
 * `lab capture vm|template|backups` and `lab restore vm` over the engine's whole-VM capture runs
 * (docs/capture-vm.md): parse, ask, render.
 */

const personaArg = { type: 'string', description: 'Persona name', valueHint: 'name' } as const;

const size = (n: number): string => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const when = (ctime: number): string => new Date(ctime * 1000).toISOString().replace(/\.000Z$/, 'Z');

export const captureVmCommand = defineCommand({
  meta: { name: 'vm', description: 'Back up a persona’s whole VM (vzdump with capture.vm’s mode, compression, storage), then apply its retention' },
  args: {
    ...globalArgs,
    persona: personaArg,
    all: { type: 'boolean', description: 'Every persona with capture.vm.enabled', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const results = await captureVms(ctx, {
      ...(args.persona !== undefined ? { persona: args.persona } : {}),
      all: args.all,
      onSkipped: (p) => ctx.io.err(`skipping ${p.name}: no capture.vm.enabled`),
      onPlan: (plan) => {
        if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan });
      },
      onCaptured: (persona, result) => ctx.io.err(`captured ${persona}: ${result.archive.volid} (${size(result.archive.size)}); retention deleted ${result.deleted.length}, keeps ${result.kept.length}`),
      onFailed: (_persona, err) => ctx.io.err(err.format()),
    });
    if (results.length === 0) {
      ctx.io.err('no persona enables capture.vm; nothing to back up');
      if (ctx.json) ctx.io.out('[]');
      return ExitCode.Ok;
    }
    if (ctx.json) ctx.io.out(JSON.stringify(results, null, 2));
    return results.some((r) => r.error) ? ExitCode.Error : ExitCode.Ok;
  },
});

export const captureBackupsCommand = defineCommand({
  meta: { name: 'backups', description: 'List a persona’s VM archives: volid, time, size, notes, protected' },
  args: {
    ...globalArgs,
    persona: { ...personaArg, required: true },
    storage: { type: 'string', description: 'Storage to list (default: capture.vm.storage)', valueHint: 'name' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const { persona: p, storage, archives } = await vmBackups(ctx, args.persona, args.storage);
    if (ctx.json) {
      ctx.io.out(JSON.stringify(archives, null, 2));
      return ExitCode.Ok;
    }
    if (archives.length === 0) {
      ctx.io.err(`no VM archives of ${p.name} on ${storage}; take one: lab capture vm --persona ${p.name}`);
      return ExitCode.Ok;
    }
    const rows = archives.map((a) => [a.volid, when(a.ctime), size(a.size), a.protected ? 'yes' : '', a.notes ?? '']);
    const head = ['ARCHIVE', 'TIME', 'SIZE', 'PROTECTED', 'NOTES'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) ctx.io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
    return ExitCode.Ok;
  },
});

export const restoreVmCommand = defineCommand({
  meta: { name: 'vm', description: 'Restore a persona’s VM from a vzdump archive: beside it (new VMID) or, with --force, over it' },
  args: {
    ...globalArgs,
    persona: { ...personaArg, required: true },
    archive: { type: 'string', description: 'Archive volid (default: the newest; see `lab capture backups`)', valueHint: 'volid' },
    vmid: { type: 'string', description: 'Restore to this VMID (default: the next free one, or the persona’s own with --force)', valueHint: 'N' },
    force: { type: 'boolean', description: 'Overwrite the persona’s existing VM (it is shut down first)', default: false },
    storage: { type: 'string', description: 'Storage holding the archives (default: capture.vm.storage)', valueHint: 'name' },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const target = args.vmid === undefined ? undefined : Number(args.vmid);
    if (target !== undefined && (!Number.isInteger(target) || target < 100 || target > 999_999_999)) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--vmid ${args.vmid} is not a VMID`, hint: 'a whole number from 100 to 999999999' });
    }
    const name = args.persona;
    const { persona: p, plan, result } = await restoreVm(ctx, {
      persona: name,
      ...(args.archive ? { archive: args.archive } : {}),
      ...(target !== undefined ? { target } : {}),
      force: args.force,
      ...(args.storage ? { storage: args.storage } : {}),
      onPlan: (planned) => {
        if (ctx.json && hasErrors(planned.diagnostics)) ctx.io.out(JSON.stringify({ plan: planned }, null, 2));
        if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan: planned });
      },
      confirm: async (planned) => {
        const change = planned.changes[0]!;
        await confirm(ctx, change.impact === 'data-loss' ? `Overwrite VM ${(change.after as { vmid: number }).vmid} of ${name} with this archive?` : 'Restore this archive?', args.yes);
      },
    });
    if (ctx.json) ctx.io.out(JSON.stringify({ plan, result }, null, 2));
    const how = result.mode === 'overwrite' ? `over VM ${result.vmid}${result.stoppedFirst ? ' (shut down first)' : ''}` : result.mode === 'recreate' ? `as ${p.name}'s VM ${result.vmid}` : `as VM ${result.vmid} beside ${p.name}'s (stopped; it has the persona's addresses)`;
    ctx.io.err(`restored ${result.archive} ${how} on ${result.node}; verified: config, disks, tags, marker; status ${result.status}`);
    return ExitCode.Ok;
  },
});

export const captureTemplateCommand = defineCommand({
  meta: { name: 'template', description: 'Turn a converged persona VM into a new image version (on a clone: the persona is only read)' },
  args: {
    ...globalArgs,
    persona: { ...personaArg, required: true },
    image: { type: 'string', description: 'Image of lab.yaml’s catalogue the version belongs to', required: true, valueHint: 'name' },
    version: { type: 'string', description: 'New version name (not listed in lab.yaml)', required: true, valueHint: 'version' },
    address: { type: 'string', description: 'Free address for the clone’s one boot, on the persona’s network', required: true, valueHint: 'ip/prefix' },
    gateway: { type: 'string', description: 'Gateway for that boot (default: the persona’s)', valueHint: 'ip' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const { plan, result } = await captureTemplate(ctx, {
      persona: args.persona,
      image: args.image,
      version: args.version,
      address: args.address,
      ...(args.gateway ? { gateway: args.gateway } : {}),
      onPlan: (planned) => {
        if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan: planned });
      },
    });
    if (ctx.json) ctx.io.out(JSON.stringify({ plan, result }, null, 2));
    ctx.io.err(`captured ${args.image}@${args.version}: template ${result.name} (${result.vmid}) on ${result.node}; commit ${result.manifest}`);
    return ExitCode.Ok;
  },
});
