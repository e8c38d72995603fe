import { createPlan, hasErrors, LabError, type Change, type Diagnostic, type Impact, type Plan, type Reporter } from '@lab/core';
import { runVzdump, type PveClient } from '@lab/pve';
import { backupAddress, vmAddress } from './_addresses.js';
import { listVmBackups, readBackupStorage, type BackupArchive, type BackupStorage } from './backups.js';
import type { VmCaptureIntent, VzdumpMode } from './intent.js';
import { notesTemplate } from './notes.js';
import { readCluster, requirePersonaVm, type PersonaVm } from './persona-vm.js';
import { applyVmRetention, planVmRetention, type RetentionPlan } from './retention.js';
import { revisionText, type LabRevision } from './revision.js';

/** What a VM capture is planned against. */
export interface VmCaptureObservation {
  readonly vm: PersonaVm;
  /** The backup storage as the VM's node sees it; undefined when the node does not have it. */
  readonly storage: BackupStorage | undefined;
  /** Archives of this VM (and of the persona) on that storage, newest first. */
  readonly archives: readonly BackupArchive[];
}

export interface VmCaptureContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  readonly labVersion: string;
  readonly revision: LabRevision;
  /** Task poll cadence (PVE clients use 1 s; tests less). */
  readonly pollMs?: number;
  /** Longest a backup may run before lab stops waiting (the task keeps running). Default 6 h. */
  readonly timeoutMs?: number;
}

/** After a capture: the archive made, what retention deleted and kept. */
export interface VmCaptureResult {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  readonly archive: BackupArchive;
  readonly deleted: readonly BackupArchive[];
  readonly kept: readonly BackupArchive[];
  readonly durationMs: number;
  readonly warnings: readonly string[];
}

/** The `after` of the change that makes an archive: exactly the vzdump call. */
export interface VzdumpCall {
  readonly node: string;
  readonly vmid: number;
  readonly storage: string;
  readonly mode: VzdumpMode;
  readonly compress: VmCaptureIntent['compress'];
  readonly notesTemplate: string;
}

export const VM_BASIS_PREFIX = 'capture/vm:';

/** What the backup costs the running VM: snapshot mode is invisible, suspend pauses it, stop stops it. */
export function vzdumpImpact(mode: VzdumpMode, running: boolean): Impact {
  if (!running || mode === 'snapshot') return 'none';
  return mode === 'suspend' ? 'restart' : 'reboot';
}

export async function observeVmCapture(client: PveClient, intent: VmCaptureIntent): Promise<VmCaptureObservation> {
  const cluster = await readCluster(client);
  const vm = await requirePersonaVm(client, intent.persona, { ...(intent.vmid !== undefined ? { vmid: intent.vmid } : {}), cluster });
  const storage = await readBackupStorage(client, vm.node, intent.storage);
  const usable = storage?.active === true && storage.content.includes('backup');
  const archives = usable ? await listVmBackups(client, { storage: intent.storage, nodes: [vm.node], vmid: vm.vmid, persona: intent.persona }) : [];
  return { vm, storage, archives };
}

function preflight(intent: VmCaptureIntent, obs: VmCaptureObservation): Diagnostic[] {
  const address = vmAddress(intent.persona);
  const out: Diagnostic[] = [];
  const { vm, storage } = obs;
  if (!storage) {
    out.push({ severity: 'error', code: 'LAB_CAPTURE_VM_STORAGE', address, summary: `storage ${intent.storage} is not available on ${vm.node}, where VM ${vm.vmid} runs`, hint: `name a storage of ${vm.node} with backup content in capture.vm.storage` });
  } else if (!storage.content.includes('backup')) {
    out.push({ severity: 'error', code: 'LAB_CAPTURE_VM_STORAGE', address, summary: `storage ${intent.storage} does not hold backups (content: ${storage.content.join(', ') || 'none'})`, hint: 'add backup to its content in lab.yaml and run `lab apply --layer l0`, or point capture.vm.storage at a storage with backup content' });
  } else if (!storage.active) {
    out.push({ severity: 'error', code: 'LAB_CAPTURE_VM_STORAGE', address, summary: `storage ${intent.storage} is not active on ${vm.node}`, hint: `check it on the node: pvesm status --storage ${intent.storage}` });
  }
  if (vm.lock) {
    out.push({ severity: 'error', code: 'LAB_CAPTURE_VM_LOCKED', address, summary: `VM ${vm.vmid} is locked (${vm.lock})`, hint: `wait for the task holding it; a stale lock is cleared with \`qm unlock ${vm.vmid}\` on ${vm.node}` });
  }
  if (vm.status !== 'running' && intent.mode !== 'stop') {
    out.push({ severity: 'info', code: 'LAB_CAPTURE_VM_STOPPED', address, summary: `VM ${vm.vmid} is ${vm.status}: vzdump backs it up in stop mode` });
  }
  return out;
}

/**
 * One change that makes the archive, and one `delete` per archive retention will remove once
 * it exists (the newest `keep - 1` of lab's existing archives stay beside the new one). The
 * retention changes are a forecast shown before anything runs; apply recomputes them from the
 * storage after the backup. Pure.
 */
export function planVmCapture(intent: VmCaptureIntent, obs: VmCaptureObservation, options: { labVersion: string; revision: LabRevision; createdAt?: Date }): Plan {
  const { vm } = obs;
  const diagnostics = preflight(intent, obs);
  const call: VzdumpCall = {
    node: vm.node,
    vmid: vm.vmid,
    storage: intent.storage,
    mode: intent.mode,
    compress: intent.compress,
    notesTemplate: notesTemplate({ persona: intent.persona, commit: revisionText(options.revision), labVersion: options.labVersion }),
  };
  const running = vm.status === 'running';
  const backup: Change = {
    address: backupAddress(intent.persona),
    layer: 'capture',
    kind: 'vm.backup',
    action: 'create',
    impact: vzdumpImpact(intent.mode, running),
    after: call,
    diff: [
      { path: 'vmid', after: vm.vmid },
      { path: 'storage', after: intent.storage },
      { path: 'mode', after: running ? intent.mode : 'stop' },
      { path: 'compress', after: intent.compress },
    ],
    sensitivePaths: [],
    steps: [
      { kind: 'api', description: `vzdump VM ${vm.vmid} on ${vm.node} to ${intent.storage} (${running ? intent.mode : 'stop'}, ${intent.compress})` },
      { kind: 'wait', description: 'wait for the vzdump task' },
    ],
    reason: `capture.vm of ${intent.persona}: keep ${intent.keep}`,
  };
  // The archive about to be made takes one of the `keep` places.
  const forecast = planVmRetention(obs.archives, { persona: intent.persona, vmid: vm.vmid, keep: intent.keep - 1 });
  const deletes: Change[] = forecast.delete.map((a) => ({
    address: backupAddress(intent.persona, a.volid),
    layer: 'capture',
    kind: 'vm.backup',
    action: 'delete',
    impact: 'data-loss',
    before: { volid: a.volid, ctime: new Date(a.ctime * 1000).toISOString(), size: a.size, notes: a.notes },
    diff: [],
    sensitivePaths: [],
    steps: [{ kind: 'api', description: `delete ${a.volid} on ${a.node}` }],
    reason: `retention keeps the newest ${intent.keep} archives lab made of VM ${vm.vmid}`,
  }));
  return createPlan({
    labVersion: options.labVersion,
    personas: [intent.persona],
    layers: ['capture'],
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    basis: { [`${VM_BASIS_PREFIX}${intent.persona}`]: `${vm.vmid}@${vm.node}` },
    changes: [backup, ...deletes],
    diagnostics,
  });
}

/** The archive a vzdump task wrote, from its log line `creating vzdump archive '<path>'`. */
export function archiveFromLog(log: readonly string[], storage: string): string | undefined {
  for (const line of log) {
    const m = /creating vzdump archive '([^']+)'/.exec(line);
    if (m) return `${storage}:backup/${m[1]!.split('/').pop()}`;
  }
  return undefined;
}

/**
 * Run a capture plan: vzdump with progress, find the archive it made, recompute retention from
 * the storage, report what it will delete, delete it, and re-read the storage to prove the
 * result (the new archive present with lab's notes, at most `keep` of lab's archives left).
 */
export async function applyVmCapture(plan: Plan, intent: VmCaptureIntent, ctx: VmCaptureContext): Promise<VmCaptureResult> {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (hasErrors(plan.diagnostics)) {
    const first = errors[0]!;
    throw new LabError({ code: first.code, summary: first.summary, ...(first.hint ? { hint: first.hint } : {}), address: vmAddress(intent.persona), diagnostics: errors });
  }
  const create = plan.changes.find((c) => c.action === 'create' && c.kind === 'vm.backup');
  if (!create) throw new LabError({ code: 'LAB_CAPTURE_PLAN_INVALID', summary: 'the capture plan makes no archive', hint: 'plan again: lab capture vm --persona <name>' });
  const call = create.after as VzdumpCall;
  const pollMs = ctx.pollMs ?? 1_000;
  const task = await runVzdump(
    ctx.client,
    call.node,
    { vmid: call.vmid, storage: call.storage, mode: call.mode, compress: call.compress === 'none' ? '0' : call.compress, 'notes-template': call.notesTemplate, remove: 0 },
    { title: `vzdump VM ${call.vmid} (${intent.persona}) to ${call.storage}`, address: create.address, pollMs, reporter: ctx.reporter, timeoutMs: ctx.timeoutMs ?? 6 * 3_600_000 },
  );
  const listed = await listVmBackups(ctx.client, { storage: call.storage, nodes: [call.node], vmid: call.vmid, persona: intent.persona });
  const fromLog = archiveFromLog(task.log, call.storage);
  // Without the log line (a PVE that words it differently), the newest of lab's archives started by this task.
  const archive = fromLog !== undefined ? listed.find((a) => a.volid === fromLog) : listed.find((a) => a.lab?.persona === intent.persona && a.ctime >= task.upid.starttime - 1);
  if (!archive) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_ARCHIVE_MISSING',
      summary: `vzdump of VM ${call.vmid} ended ${task.exitstatus} but ${fromLog ?? 'its archive'} is not on ${call.storage}`,
      hint: `read the task log: pvenode task log '${task.upid.upid}'`,
    });
  }
  const retention = planVmRetention(listed, { persona: intent.persona, vmid: call.vmid, keep: intent.keep });
  reportRetention(ctx.reporter, retention, intent.persona);
  const deleted = await applyVmRetention(retention, { client: ctx.client, reporter: ctx.reporter, pollMs });
  await verifyCapture(ctx.client, intent, call, archive, retention);
  return {
    persona: intent.persona,
    vmid: call.vmid,
    node: call.node,
    archive,
    deleted,
    kept: retention.keep,
    durationMs: task.durationMs,
    warnings: task.warnings,
  };
}

function reportRetention(reporter: Reporter, r: RetentionPlan, persona: string): void {
  const address = vmAddress(persona);
  if (r.delete.length === 0) {
    reporter.emit({ type: 'log', level: 'info', address, message: `retention keeps all ${r.keep.length} archive(s) lab made of VM ${r.scope.vmid} (keep ${r.scope.keep})` });
    return;
  }
  const when = (a: BackupArchive): string => new Date(a.ctime * 1000).toISOString().replace('.000Z', 'Z');
  reporter.emit({
    type: 'log',
    level: 'info',
    address,
    message: [`retention keeps ${r.keep.length} of lab's archives of VM ${r.scope.vmid} and deletes ${r.delete.length}:`, ...r.delete.map((a) => `  - ${a.volid} (${when(a)})`)].join('\n'),
  });
}

async function verifyCapture(client: PveClient, intent: VmCaptureIntent, call: VzdumpCall, archive: BackupArchive, retention: RetentionPlan): Promise<void> {
  const after = await listVmBackups(client, { storage: call.storage, nodes: [call.node], vmid: call.vmid, persona: intent.persona });
  const now = after.find((a) => a.volid === archive.volid);
  const left = after.filter((a) => retention.delete.some((d) => d.volid === a.volid));
  const mine = after.filter((a) => a.lab?.persona === intent.persona && a.vmid === call.vmid && !a.protected);
  const problems = [
    ...(now ? [] : [`${archive.volid} is gone`]),
    ...(now && now.lab?.persona !== intent.persona ? [`${archive.volid} lacks lab's notes (got ${JSON.stringify(now.notes ?? '')})`] : []),
    ...left.map((a) => `${a.volid} should have been deleted`),
    ...(mine.length > intent.keep ? [`${mine.length} of lab's archives remain, more than keep ${intent.keep}`] : []),
  ];
  if (problems.length > 0) {
    throw new LabError({ code: 'LAB_CAPTURE_VM_VERIFY', summary: `the capture of ${intent.persona} did not verify: ${problems.join('; ')}`, hint: `list the archives: lab capture backups --persona ${intent.persona}`, address: vmAddress(intent.persona) });
  }
}

/** Observe, plan and apply in one go: what `lab capture vm` and `lab rebuild` run. */
export async function captureVm(intent: VmCaptureIntent, ctx: VmCaptureContext): Promise<{ plan: Plan; result: VmCaptureResult }> {
  const obs = await observeVmCapture(ctx.client, intent);
  const plan = planVmCapture(intent, obs, { labVersion: ctx.labVersion, revision: ctx.revision });
  return { plan, result: await applyVmCapture(plan, intent, ctx) };
}
