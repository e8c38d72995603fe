import { hasErrors, LabError, type Plan, type Reporter } from '@lab/core';
import { pveList, restoreVm, shutdownVm, vmStatus as readVmStatus, type PveClient } from '@lab/pve';
import { restoreAddress, vmAddress } from './_addresses.js';
import { driveVolume } from './archive-config.js';
import { findPersonaVm, markerPersona, readCluster, readConfig } from './persona-vm.js';
import { RESTORE_BASIS_PREFIX, type RestoreCall, type RestoreMode } from './restore-plan.js';

export interface VmRestoreContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  readonly pollMs?: number;
  /** Longest a restore may run before lab stops waiting. Default 6 h. */
  readonly timeoutMs?: number;
  /** How long a clean shutdown may take before the VM is stopped hard. Default 120 s. */
  readonly shutdownTimeoutS?: number;
}

export interface VmRestoreResult {
  readonly persona: string;
  readonly mode: RestoreMode;
  readonly vmid: number;
  readonly node: string;
  readonly archive: string;
  /** The restored VM's config digest after verification. */
  readonly digest: string;
  readonly status: string;
  /** The persona's VM was shut down before being overwritten. */
  readonly stoppedFirst: boolean;
}

async function vmStatus(client: PveClient, node: string, vmid: number): Promise<string> {
  return (await readVmStatus(client, { node, vmid })).status;
}

function fail(persona: string, vmid: number, summary: string, hint: string): LabError {
  return new LabError({ code: 'LAB_CAPTURE_RESTORE_VERIFY', summary, hint, address: restoreAddress(persona, vmid) });
}

/** The world may have moved between plan and confirmation: the persona's VM must be as planned. */
async function checkBasis(plan: Plan, persona: string, call: RestoreCall, client: PveClient): Promise<void> {
  const key = `${RESTORE_BASIS_PREFIX}${persona}`;
  const planned = plan.basis[key];
  if (planned === undefined) return;
  const vm = await findPersonaVm(client, persona);
  const now = vm ? `${vm.vmid}:${vm.digest}` : 'absent';
  const taken = call.mode !== 'overwrite' && (await readCluster(client)).vms.some((v) => v.vmid === call.vmid);
  if (now !== planned || taken) {
    throw new LabError({ code: 'LAB_PLAN_STALE', summary: `the restore plan for ${persona} is stale: ${taken ? `VMID ${call.vmid} was taken meanwhile` : 'its VM changed since the plan was made'}`, hint: `plan again: lab restore vm --persona ${persona}`, address: vmAddress(persona) });
  }
}

/**
 * Apply a restore plan: shut the persona's VM down first when it is overwritten (and say so),
 * restore the archive (`force=1` over it; `unique=1` and identity overrides for a copy), then
 * re-read the VM and prove it: unlocked, the archive's disks attached as volumes of this VMID,
 * the expected tags and marker, and running when it was meant to start.
 */
export async function applyVmRestore(plan: Plan, ctx: VmRestoreContext): Promise<VmRestoreResult> {
  const persona = plan.personas[0] ?? '';
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (hasErrors(plan.diagnostics)) {
    const first = errors[0]!;
    throw new LabError({ code: first.code, summary: first.summary, ...(first.hint ? { hint: first.hint } : {}), ...(first.address ? { address: first.address } : {}), diagnostics: errors });
  }
  const change = plan.changes.find((c) => c.kind === 'vm.restore');
  if (!change) throw new LabError({ code: 'LAB_CAPTURE_PLAN_INVALID', summary: 'the restore plan restores nothing', hint: 'plan again: lab restore vm --persona <name>' });
  const call = change.after as RestoreCall;
  const pollMs = ctx.pollMs ?? 1_000;
  await checkBasis(plan, persona, call, ctx.client);
  let stoppedFirst = false;
  if (call.mode === 'overwrite' && (await vmStatus(ctx.client, call.node, call.vmid)) !== 'stopped') {
    ctx.reporter.emit({ type: 'log', level: 'info', address: change.address, message: `shutting down VM ${call.vmid} (${persona}) first: Proxmox restores only over a stopped VM` });
    await shutdownVm(ctx.client, call, { timeoutS: ctx.shutdownTimeoutS ?? 120, title: `shut down VM ${call.vmid}`, address: change.address, pollMs, reporter: ctx.reporter });
    stoppedFirst = true;
  }
  await restoreVm(
    ctx.client,
    call.node,
    {
      vmid: call.vmid,
      archive: call.archive,
      ...(call.mode === 'overwrite' ? { force: 1 } : {}),
      ...(call.unique ? { unique: 1 } : {}),
      ...(call.start ? { start: 1 } : {}),
      ...(call.pool ? { pool: call.pool } : {}),
      ...call.overrides,
    },
    { title: `restore ${call.archive} as VM ${call.vmid}`, address: change.address, pollMs, reporter: ctx.reporter, timeoutMs: ctx.timeoutMs ?? 6 * 3_600_000 },
  );
  return verifyRestore(ctx.client, persona, call, stoppedFirst, pollMs);
}

async function verifyRestore(client: PveClient, persona: string, call: RestoreCall, stoppedFirst: boolean, pollMs: number): Promise<VmRestoreResult> {
  const hint = `inspect it: qm config ${call.vmid} (on ${call.node})`;
  const { config, digest } = await readConfig(client, call.node, call.vmid);
  if (config['lock']) throw fail(persona, call.vmid, `VM ${call.vmid} is still locked (${config['lock']}) after the restore`, hint);
  const tags = pveList(config['tags']).sort();
  if (tags.join(';') !== [...call.expectedTags].sort().join(';')) throw fail(persona, call.vmid, `VM ${call.vmid} has tags ${tags.join(';') || '(none)'}, expected ${call.expectedTags.join(';')}`, hint);
  const owner = markerPersona(config['description']);
  if (owner !== call.owner) throw fail(persona, call.vmid, `VM ${call.vmid}'s marker names ${owner ?? 'no persona'}, expected ${call.owner ?? 'none (a copy)'}`, hint);
  const missing = call.disks.filter((k) => {
    const v = config[k];
    return v === undefined || !new RegExp(`(?:^|:|/)vm-${call.vmid}-`).test(driveVolume(v).volid);
  });
  if (missing.length > 0) throw fail(persona, call.vmid, `VM ${call.vmid} lacks restored disks: ${missing.join(', ')}`, hint);
  let status = await vmStatus(client, call.node, call.vmid);
  if (call.start) {
    const deadline = Date.now() + 60_000;
    while (status !== 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(pollMs, 1_000)));
      status = await vmStatus(client, call.node, call.vmid);
    }
    if (status !== 'running') throw fail(persona, call.vmid, `VM ${call.vmid} was restored but is ${status}, not running`, `start it: lab apply --layer l2 --persona ${persona}`);
  }
  return { persona, mode: call.mode, vmid: call.vmid, node: call.node, archive: call.archive, digest, status, stoppedFirst };
}
