import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, hasErrors, LabError, type Plan } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { poolName } from '@lab/l0-host';
import { createPveClient, type PveClient } from '@lab/pve';
import {
  applyTemplateCapture,
  applyVmCapture,
  applyVmRestore,
  backupStorageOf,
  captureVm,
  cleanCloneWithPersonaKey,
  findPersonaVm,
  listVmBackups,
  observeTemplateCapture,
  observeVmCapture,
  observeVmRestore,
  planTemplateCapture,
  planVmCapture,
  planVmRestore,
  readCluster,
  readLabRevision,
  templateCaptureIntent,
  vmCaptureEnabled,
  vmCaptureIntent,
  type BackupArchive,
  type VmCaptureResult,
} from '@lab/capture';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { guestAddress, guestConnection } from '../layers/guest-ssh.js';
import { confirm } from '../layers/run.js';
import { beginRun } from '../journal/index.js';
import { selectPersonas } from '../layers/select.js';

/**
 * `lab capture vm|template|backups` and `lab restore vm`: whole-VM capture (vzdump, retention,
 * restore) and template capture over @lab/capture's library, against lab.yaml's Proxmox
 * (the embedded simulator or a real cluster). See docs/capture-vm.md.
 */

const personaArg = { type: 'string', description: 'Persona name', valueHint: 'name' } as const;

/** A client for the session's Proxmox, closed with the session. */
async function clientOf(session: LayerSession): Promise<PveClient> {
  const ep = await session.proxmox();
  const client = createPveClient({ url: ep.url, ...(ep.fingerprint ? { fingerprint: ep.fingerprint } : {}), auth: { kind: 'token', tokenId: ep.tokenId, secret: ep.tokenSecret }, reporter: session.reporter });
  session.onClose(() => client.close());
  return client;
}

async function open(ctx: CliContext, lab: Lab, personas: readonly LoadedPersona[]): Promise<{ session: LayerSession; client: PveClient }> {
  const session = createLayerContext(lab, personas, ctx.reporter, { allowReboot: false, destroyData: false, targets: [] });
  try {
    return { session, client: await clientOf(session) };
  } catch (err) {
    await session.close();
    throw err;
  }
}

/**
 * One whole-VM capture of a persona in an open session, for `lab rebuild`'s `capture-vm` step
 * (the `RebuildPorts.captureVm` shape): refuses a persona without `capture.vm.enabled`.
 */
export async function captureVmInSession(session: LayerSession, persona: LoadedPersona): Promise<{ readonly archive: string }> {
  const intent = vmCaptureIntent(persona);
  const { result } = await captureVm(intent, { client: await clientOf(session), reporter: session.reporter, labVersion: session.labVersion, revision: await readLabRevision(session.lab.root) });
  return { archive: result.archive.volid };
}

function onePersona(lab: Lab, name: string | undefined): LoadedPersona {
  const [p] = selectPersonas(lab, name, false, true);
  return p!;
}

function refuse(plan: Plan): void {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const first = errors[0]!;
  throw new LabError({ code: first.code, summary: first.summary, ...(first.hint ? { hint: first.hint } : {}), ...(first.address ? { address: first.address } : {}), diagnostics: errors.slice(1) });
}

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
    const lab = await loadLab(ctx.root());
    const chosen = selectPersonas(lab, args.persona, args.all, true);
    // --all means "every persona that takes VM backups"; naming one that does not is an error.
    const personas = args.all ? chosen.filter(vmCaptureEnabled) : chosen;
    const intents = personas.map((p) => vmCaptureIntent(p));
    if (args.all) for (const p of chosen.filter((q) => !vmCaptureEnabled(q))) ctx.io.err(`skipping ${p.name}: no capture.vm.enabled`);
    if (intents.length === 0) {
      ctx.io.err('no persona enables capture.vm; nothing to back up');
      if (ctx.json) ctx.io.out('[]');
      return ExitCode.Ok;
    }
    const { session, client } = await open(ctx, lab, personas);
    const revision = await readLabRevision(lab.root);
    const results: { persona: string; plan?: Plan; result?: VmCaptureResult; error?: ReturnType<LabError['toJSON']> }[] = [];
    try {
      for (const intent of intents) {
        ctx.reporter.emit({ type: 'phase', name: 'capture vm', persona: intent.persona, layer: 'capture' });
        const rec = beginRun('capture', { root: lab.root, reporter: ctx.reporter, personas: [intent.persona], layers: ['capture'] });
        try {
          const plan = planVmCapture(intent, await observeVmCapture(client, intent), { labVersion: session.labVersion, revision });
          if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan });
          rec.usePlan(plan);
          const result = await applyVmCapture(plan, intent, { client, reporter: ctx.reporter, labVersion: session.labVersion, revision });
          await rec.ok({ kind: 'vm', archive: result.archive.volid, size: result.archive.size, deleted: result.deleted.length, kept: result.kept.length });
          results.push({ persona: intent.persona, plan, result });
          ctx.io.err(`captured ${intent.persona}: ${result.archive.volid} (${size(result.archive.size)}); retention deleted ${result.deleted.length}, keeps ${result.kept.length}`);
        } catch (err) {
          await rec.failed(err, { kind: 'vm' });
          if (!(err instanceof LabError) || intents.length === 1) throw err;
          results.push({ persona: intent.persona, error: err.toJSON() });
          ctx.io.err(err.format());
        }
      }
    } finally {
      await session.close();
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
    const lab = await loadLab(ctx.root());
    const p = onePersona(lab, args.persona);
    const storage = backupStorageOf(p, args.storage);
    const { session, client } = await open(ctx, lab, [p]);
    let archives: BackupArchive[];
    try {
      const cluster = await readCluster(client);
      const vm = await findPersonaVm(client, p.name, { ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}), cluster });
      const vmid = vm?.vmid ?? p.persona.vm.vmid;
      archives = await listVmBackups(client, { storage, nodes: cluster.nodes.filter((n) => n.online).map((n) => n.node), ...(vmid !== undefined ? { vmid } : {}), persona: p.name });
    } finally {
      await session.close();
    }
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
    const lab = await loadLab(ctx.root());
    const p = onePersona(lab, args.persona);
    const target = args.vmid === undefined ? undefined : Number(args.vmid);
    if (target !== undefined && (!Number.isInteger(target) || target < 100 || target > 999_999_999)) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--vmid ${args.vmid} is not a VMID`, hint: 'a whole number from 100 to 999999999' });
    }
    const intent = {
      persona: p.name,
      storage: backupStorageOf(p, args.storage),
      ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}),
      ...(args.archive ? { archive: args.archive } : {}),
      ...(target !== undefined ? { target } : {}),
      force: args.force,
      pool: poolName(lab.site.site, p.persona.lifecycle.stage),
    };
    const { session, client } = await open(ctx, lab, [p]);
    const rec = beginRun('restore', { root: lab.root, reporter: ctx.reporter, personas: [p.name], layers: ['capture'] });
    try {
      const plan = planVmRestore(intent, await observeVmRestore(client, intent), { labVersion: session.labVersion });
      if (ctx.json && hasErrors(plan.diagnostics)) ctx.io.out(JSON.stringify({ plan }, null, 2));
      if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan });
      rec.usePlan(plan);
      refuse(plan);
      const change = plan.changes[0]!;
      await confirm(ctx, change.impact === 'data-loss' ? `Overwrite VM ${(change.after as { vmid: number }).vmid} of ${p.name} with this archive?` : 'Restore this archive?', args.yes);
      const result = await applyVmRestore(plan, { client, reporter: ctx.reporter });
      await rec.ok({ kind: 'vm', mode: result.mode, vmid: result.vmid, archive: result.archive });
      if (ctx.json) ctx.io.out(JSON.stringify({ plan, result }, null, 2));
      const how = result.mode === 'overwrite' ? `over VM ${result.vmid}${result.stoppedFirst ? ' (shut down first)' : ''}` : result.mode === 'recreate' ? `as ${p.name}'s VM ${result.vmid}` : `as VM ${result.vmid} beside ${p.name}'s (stopped; it has the persona's addresses)`;
      ctx.io.err(`restored ${result.archive} ${how} on ${result.node}; verified: config, disks, tags, marker; status ${result.status}`);
      return ExitCode.Ok;
    } catch (err) {
      await rec.failed(err, { kind: 'vm' });
      throw err;
    } finally {
      await session.close();
    }
  },
});

/** The persona as reached at another address: the booted clone of its VM, for `guestConnection`. */
function atAddress(p: LoadedPersona, address: string): LoadedPersona {
  const [first, ...rest] = p.persona.vm.nics;
  return { ...p, persona: { ...p.persona, vm: { ...p.persona.vm, nics: [{ ...first!, ip: `${address}/32` }, ...rest] } } };
}

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
    const lab = await loadLab(ctx.root());
    const p = onePersona(lab, args.persona);
    const intent = templateCaptureIntent(p, lab.site.site, { image: args.image, version: args.version, address: args.address, ...(args.gateway ? { gateway: args.gateway } : {}) }, lab.personas);
    const { session, client } = await open(ctx, lab, [p]);
    const rec = beginRun('capture', { root: lab.root, reporter: ctx.reporter, personas: [p.name], layers: ['capture'] });
    try {
      const plan = planTemplateCapture(intent, await observeTemplateCapture(client, lab.root, intent), { labVersion: session.labVersion });
      if (!ctx.json) ctx.reporter.emit({ type: 'plan', plan });
      rec.usePlan(plan);
      refuse(plan);
      const result = await applyTemplateCapture(plan, intent, {
        client,
        reporter: ctx.reporter,
        root: lab.root,
        labVersion: session.labVersion,
        revision: await readLabRevision(lab.root),
        clean: (clone) =>
          cleanCloneWithPersonaKey(() => guestConnection(session, atAddress(p, clone.address)), {
            knownHostsFile: resolve(lab.root, lab.site.site.ssh.knownHosts),
            personaAddress: guestAddress(p),
            cloneAddress: clone.address,
            onProgress: clone.progress,
          }),
      });
      await rec.ok({ kind: 'template', image: result.image, version: result.version, vmid: result.vmid, manifest: result.manifest });
      if (ctx.json) ctx.io.out(JSON.stringify({ plan, result }, null, 2));
      ctx.io.err(`captured ${args.image}@${args.version}: template ${result.name} (${result.vmid}) on ${result.node}; commit ${result.manifest}`);
      return ExitCode.Ok;
    } catch (err) {
      await rec.failed(err, { kind: 'template' });
      throw err;
    } finally {
      await session.close();
    }
  },
});
