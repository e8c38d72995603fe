import { resolve } from 'node:path';
import { LabError, type Plan } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { poolName } from '@lab/l0-host';
import type { PveClient } from '@lab/pve';
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
import type { EngineEnv } from '../env.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { guestAddress, guestConnection } from '../layers/guest-ssh.js';
import { pveClientOf } from '../layers/pve-client.js';
import { beginRun } from '../journal/index.js';
import { selectPersonas } from '../layers/select.js';

/**
 * Whole-VM capture runs — `lab capture vm|template|backups` and `lab restore vm`: vzdump,
 * retention, restore and template capture over @lab/capture's library, against lab.yaml's
 * Proxmox (the embedded simulator or a real cluster). See docs/capture-vm.md. Plans and results
 * are handed to the caller, which renders them; confirmation is the caller's too.
 */

async function open(env: EngineEnv, lab: Lab, personas: readonly LoadedPersona[]): Promise<{ session: LayerSession; client: PveClient }> {
  const session = createLayerContext(lab, personas, env.reporter, { allowReboot: false, destroyData: false, targets: [] });
  try {
    return { session, client: await pveClientOf(session) };
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
  const { result } = await captureVm(intent, { client: await pveClientOf(session), reporter: session.reporter, labVersion: session.labVersion, revision: await readLabRevision(session.lab.root) });
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


/** The persona as reached at another address: the booted clone of its VM, for `guestConnection`. */
function atAddress(p: LoadedPersona, address: string): LoadedPersona {
  const [first, ...rest] = p.persona.vm.nics;
  return { ...p, persona: { ...p.persona, vm: { ...p.persona.vm, nics: [{ ...first!, ip: `${address}/32` }, ...rest] } } };
}


/** One persona's outcome in a `lab capture vm` run. */
export interface VmCaptureRow {
  readonly persona: string;
  readonly plan?: Plan;
  readonly result?: VmCaptureResult;
  readonly error?: ReturnType<LabError['toJSON']>;
}

export interface CaptureVmsOptions {
  readonly persona?: string;
  /** Every persona that takes VM backups (`capture.vm.enabled`); naming one that does not is an error. */
  readonly all: boolean;
  /** A persona `all` passes over: it does not enable capture.vm. */
  readonly onSkipped?: (persona: LoadedPersona) => void;
  readonly onPlan?: (plan: Plan) => void;
  readonly onCaptured?: (persona: string, result: VmCaptureResult) => void;
  /** With several personas, one that fails is reported here and the others still run. */
  readonly onFailed?: (persona: string, error: LabError) => void;
}

/**
 * `lab capture vm`: plan and apply a vzdump (with retention) of each selected persona, each run
 * journalled. Resolves to one row per persona; none when no selected persona enables capture.vm.
 */
export async function captureVms(env: EngineEnv, options: CaptureVmsOptions): Promise<VmCaptureRow[]> {
  const lab = await loadLab(env.root());
  const chosen = selectPersonas(lab, options.persona, options.all, true);
  const personas = options.all ? chosen.filter(vmCaptureEnabled) : chosen;
  const intents = personas.map((p) => vmCaptureIntent(p));
  if (options.all) for (const p of chosen.filter((q) => !vmCaptureEnabled(q))) options.onSkipped?.(p);
  if (intents.length === 0) return [];
  const { session, client } = await open(env, lab, personas);
  const revision = await readLabRevision(lab.root);
  const results: VmCaptureRow[] = [];
  try {
    for (const intent of intents) {
      env.reporter.emit({ type: 'phase', name: 'capture vm', persona: intent.persona, layer: 'capture' });
      const rec = beginRun('capture', { root: lab.root, reporter: env.reporter, personas: [intent.persona], layers: ['capture'] });
      try {
        const plan = planVmCapture(intent, await observeVmCapture(client, intent), { labVersion: session.labVersion, revision });
        options.onPlan?.(plan);
        rec.usePlan(plan);
        const result = await applyVmCapture(plan, intent, { client, reporter: env.reporter, labVersion: session.labVersion, revision });
        await rec.ok({ kind: 'vm', archive: result.archive.volid, size: result.archive.size, deleted: result.deleted.length, kept: result.kept.length });
        results.push({ persona: intent.persona, plan, result });
        options.onCaptured?.(intent.persona, result);
      } catch (err) {
        await rec.failed(err, { kind: 'vm' });
        if (!(err instanceof LabError) || intents.length === 1) throw err;
        results.push({ persona: intent.persona, error: err.toJSON() });
        options.onFailed?.(intent.persona, err);
      }
    }
  } finally {
    await session.close();
  }
  return results;
}

/** `lab capture backups`: the persona's VM archives on its backup storage (or `storage`). */
export async function vmBackups(env: EngineEnv, personaName: string, storageName?: string): Promise<{ readonly persona: LoadedPersona; readonly storage: string; readonly archives: BackupArchive[] }> {
  const lab = await loadLab(env.root());
  const p = onePersona(lab, personaName);
  const storage = backupStorageOf(p, storageName);
  const { session, client } = await open(env, lab, [p]);
  try {
    const cluster = await readCluster(client);
    const vm = await findPersonaVm(client, p.name, { ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}), cluster });
    const vmid = vm?.vmid ?? p.persona.vm.vmid;
    const archives = await listVmBackups(client, { storage, nodes: cluster.nodes.filter((n) => n.online).map((n) => n.node), ...(vmid !== undefined ? { vmid } : {}), persona: p.name });
    return { persona: p, storage, archives };
  } finally {
    await session.close();
  }
}

export interface RestoreVmOptions {
  readonly persona: string;
  /** Archive volid; default: the newest. */
  readonly archive?: string;
  /** Restore to this VMID; default: the next free one, or the persona's own with `force`. */
  readonly target?: number;
  /** Overwrite the persona's existing VM (shut down first). */
  readonly force: boolean;
  /** Storage holding the archives; default: capture.vm.storage. */
  readonly storage?: string;
  /** Called with the plan once it is known, before a plan with errors is refused. */
  readonly onPlan?: (plan: Plan) => void;
  /** Called before anything changes (the plan's one change says whether data is lost); throws to stop. */
  readonly confirm: (plan: Plan) => Promise<void>;
}

/** `lab restore vm`: plan the restore (impact data-loss when it overwrites), confirm, apply; journalled. */
export async function restoreVm(env: EngineEnv, options: RestoreVmOptions): Promise<{ readonly persona: LoadedPersona; readonly plan: Plan; readonly result: Awaited<ReturnType<typeof applyVmRestore>> }> {
  const lab = await loadLab(env.root());
  const p = onePersona(lab, options.persona);
  const intent = {
    persona: p.name,
    storage: backupStorageOf(p, options.storage),
    ...(p.persona.vm.vmid !== undefined ? { vmid: p.persona.vm.vmid } : {}),
    ...(options.archive ? { archive: options.archive } : {}),
    ...(options.target !== undefined ? { target: options.target } : {}),
    force: options.force,
    pool: poolName(lab.site.site, p.persona.lifecycle.stage),
  };
  const { session, client } = await open(env, lab, [p]);
  const rec = beginRun('restore', { root: lab.root, reporter: env.reporter, personas: [p.name], layers: ['capture'] });
  try {
    const plan = planVmRestore(intent, await observeVmRestore(client, intent), { labVersion: session.labVersion });
    options.onPlan?.(plan);
    rec.usePlan(plan);
    refuse(plan);
    await options.confirm(plan);
    const result = await applyVmRestore(plan, { client, reporter: env.reporter });
    await rec.ok({ kind: 'vm', mode: result.mode, vmid: result.vmid, archive: result.archive });
    return { persona: p, plan, result };
  } catch (err) {
    await rec.failed(err, { kind: 'vm' });
    throw err;
  } finally {
    await session.close();
  }
}

export interface CaptureTemplateOptions {
  readonly persona: string;
  /** Image of lab.yaml's catalogue the version belongs to. */
  readonly image: string;
  /** New version name (not listed in lab.yaml). */
  readonly version: string;
  /** Free address for the clone's one boot, on the persona's network. */
  readonly address: string;
  readonly gateway?: string;
  readonly onPlan?: (plan: Plan) => void;
}

/** `lab capture template`: turn a converged persona VM into a new image version, on a clone; journalled. */
export async function captureTemplate(env: EngineEnv, options: CaptureTemplateOptions): Promise<{ readonly plan: Plan; readonly result: Awaited<ReturnType<typeof applyTemplateCapture>> }> {
  const lab = await loadLab(env.root());
  const p = onePersona(lab, options.persona);
  const intent = templateCaptureIntent(p, lab.site.site, { image: options.image, version: options.version, address: options.address, ...(options.gateway ? { gateway: options.gateway } : {}) }, lab.personas);
  const { session, client } = await open(env, lab, [p]);
  const rec = beginRun('capture', { root: lab.root, reporter: env.reporter, personas: [p.name], layers: ['capture'] });
  try {
    const plan = planTemplateCapture(intent, await observeTemplateCapture(client, lab.root, intent), { labVersion: session.labVersion });
    options.onPlan?.(plan);
    rec.usePlan(plan);
    refuse(plan);
    const result = await applyTemplateCapture(plan, intent, {
      client,
      reporter: env.reporter,
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
    return { plan, result };
  } catch (err) {
    await rec.failed(err, { kind: 'template' });
    throw err;
  } finally {
    await session.close();
  }
}
