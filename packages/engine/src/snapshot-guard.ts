import { LabError, type Plan, type Reporter } from '@lab/core';
import { observeVms } from '@lab/l2-vm';
import { createVmSnapshot, deleteVmSnapshot, rollbackVmSnapshot } from '@lab/pve';
import type { LayerContext } from './layers/adapter.js';
import { pveClientOf } from './layers/pve-client.js';

/** The guest-facing layers a `--snapshot` apply protects. */
const GUARDED = new Set(['l3', 'l4']);

/** A PVE snapshot taken before an apply, to return to if the apply or its health checks fail. */
export interface GuardSnapshot {
  readonly persona: string;
  readonly node: string;
  readonly vmid: number;
  readonly snapname: string;
}

/** PVE snapshot names: a letter, then letters, digits, `_` or `-`, 2–40 characters. */
export function guardSnapshotName(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', 't');
  return `lab-pre-apply-${stamp}`;
}

/** Personas whose guest the plan changes through L3 or L4 (only their VMs are snapshotted). */
export function personasChangedInGuest(plan: Plan): string[] {
  const out = new Set<string>();
  for (const c of plan.changes) {
    if (!GUARDED.has(c.layer) || c.action === 'noop') continue;
    const persona = c.address.split('/')[0];
    if (persona) out.add(persona);
  }
  return [...out].sort();
}

function step(reporter: Reporter, text: string): void {
  reporter.emit({ type: 'log', level: 'info', message: text });
}

/**
 * Take one PVE snapshot (disk state, no RAM) of each persona's VM before its guest changes.
 * A persona without a VM cannot be changed by L3/L4 either, so it is an error here.
 */
export async function takeGuardSnapshots(ctx: LayerContext, personas: readonly string[], at = new Date()): Promise<GuardSnapshot[]> {
  if (personas.length === 0) return [];
  const client = await pveClientOf(ctx);
  const obs = await observeVms(client, { personas });
  const snapname = guardSnapshotName(at);
  const taken: GuardSnapshot[] = [];
  for (const persona of personas) {
    const vm = obs.managed.get(persona);
    if (!vm) {
      throw new LabError({ code: 'LAB_SNAPSHOT_NO_VM', summary: `cannot snapshot ${persona}: it has no VM`, hint: `create it first: lab apply --layer l2 --persona ${persona}` });
    }
    await createVmSnapshot(client, vm, snapname, `lab apply --snapshot: state before the apply of ${at.toISOString()}`);
    step(ctx.reporter, `snapshot ${snapname} of ${persona} (VM ${vm.vmid} on ${vm.node}) taken`);
    taken.push({ persona, node: vm.node, vmid: vm.vmid, snapname });
  }
  return taken;
}

/** Roll each VM back to its guard snapshot and start it again; then remove the snapshot. */
export async function revertGuardSnapshots(ctx: LayerContext, snaps: readonly GuardSnapshot[]): Promise<void> {
  if (snaps.length === 0) return;
  const client = await pveClientOf(ctx);
  for (const s of snaps) {
    step(ctx.reporter, `reverting ${s.persona} (VM ${s.vmid}) to ${s.snapname}`);
    await rollbackVmSnapshot(client, s, s.snapname, { start: 1 });
    await deleteVmSnapshot(client, s, s.snapname);
  }
}

/** After a successful apply the guard snapshots have done their job: remove them (no sprawl). */
export async function dropGuardSnapshots(ctx: LayerContext, snaps: readonly GuardSnapshot[]): Promise<void> {
  if (snaps.length === 0) return;
  const client = await pveClientOf(ctx);
  for (const s of snaps) await deleteVmSnapshot(client, s, s.snapname);
}

/**
 * Run `apply` under guard snapshots: a failure (an error in L3/L4, a failed health gate, a
 * failed re-verify) rolls the guests back to the state before the apply and rethrows with
 * what was reverted; success removes the snapshots unless `keep`.
 */
export async function withGuardSnapshots(ctx: LayerContext, plan: Plan, apply: () => Promise<void>, keep = false): Promise<readonly GuardSnapshot[]> {
  const snaps = await takeGuardSnapshots(ctx, personasChangedInGuest(plan));
  try {
    await apply();
  } catch (error) {
    try {
      await revertGuardSnapshots(ctx, snaps);
    } catch (revertError) {
      throw new LabError({
        code: 'LAB_SNAPSHOT_REVERT_FAILED',
        summary: `the apply failed and reverting to the snapshots failed too`,
        detail: `apply: ${(error as Error).message}\nrevert: ${(revertError as Error).message}`,
        hint: snaps.map((s) => `roll back by hand: qm rollback ${s.vmid} ${s.snapname} (node ${s.node})`).join('\n'),
        cause: revertError,
      });
    }
    if (error instanceof LabError) {
      throw new LabError({
        code: error.code,
        summary: `${error.summary}; reverted ${snaps.map((s) => `${s.persona} (VM ${s.vmid})`).join(', ') || 'nothing'} to the state before the apply`,
        ...(error.detail ? { detail: error.detail } : {}),
        hint: 'the guests are as they were before this apply; fix the cause, then apply again',
        ...(error.address ? { address: error.address } : {}),
        cause: error,
        diagnostics: error.diagnostics,
      });
    }
    throw error;
  }
  if (!keep) await dropGuardSnapshots(ctx, snaps);
  return snaps;
}
