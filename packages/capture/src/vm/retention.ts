import type { Reporter } from '@lab/core';
import { deleteVolume, isPveError, isUpid, type PveClient } from '@lab/pve';
import { backupAddress } from './_addresses.js';
import { newestFirst, type BackupArchive } from './backups.js';

export interface RetentionScope {
  readonly persona: string;
  readonly vmid: number;
  /** How many of lab's archives of this VM to keep (`capture.vm.keep`). */
  readonly keep: number;
}

/** What retention does with each archive it looked at. */
export interface RetentionPlan {
  readonly scope: RetentionScope;
  /** lab's archives of the VM that stay, newest first. */
  readonly keep: readonly BackupArchive[];
  /** lab's archives of the VM that go, newest first. */
  readonly delete: readonly BackupArchive[];
  /** Archives retention never touches: not lab's, of another VM or persona, or protected. */
  readonly untouched: readonly { readonly archive: BackupArchive; readonly why: string }[];
}

function untouchedReason(a: BackupArchive, scope: RetentionScope): string | undefined {
  if (!a.lab) return 'not made by lab (no lab:capture notes)';
  if (a.lab.persona !== scope.persona) return `made for persona ${a.lab.persona}`;
  if (a.vmid !== scope.vmid) return `of VM ${a.vmid}, not the persona's current VM ${scope.vmid}`;
  // PVE refuses to delete a protected archive, and its prune does not count it either.
  if (a.protected) return 'protected';
  return undefined;
}

/**
 * Keep the newest `keep` archives lab made of this VM and delete the older ones. Archives lab
 * did not make and protected ones are never deleted and do not count (PVE's own prune treats
 * protected backups the same way). Pure.
 */
export function planVmRetention(archives: readonly BackupArchive[], scope: RetentionScope): RetentionPlan {
  const mine: BackupArchive[] = [];
  const untouched: { archive: BackupArchive; why: string }[] = [];
  for (const a of [...archives].sort(newestFirst)) {
    const why = untouchedReason(a, scope);
    if (why === undefined) mine.push(a);
    else untouched.push({ archive: a, why });
  }
  const keep = Math.max(0, scope.keep);
  return { scope, keep: mine.slice(0, keep), delete: mine.slice(keep), untouched };
}

export interface RetentionContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  readonly pollMs?: number;
}

/**
 * Delete the archives a retention plan lists, through the storage content API. An archive
 * already gone counts as deleted (a rerun after a failure finishes the job).
 */
export async function applyVmRetention(plan: RetentionPlan, ctx: RetentionContext): Promise<BackupArchive[]> {
  const deleted: BackupArchive[] = [];
  for (const a of plan.delete) {
    const title = `delete ${a.volid} on ${a.node} (retention keeps ${plan.scope.keep})`;
    const address = backupAddress(plan.scope.persona, a.volid);
    try {
      const answer = await deleteVolume(ctx.client, a.node, a.storage, a.volid);
      if (isUpid(answer)) await ctx.client.waitForTask(answer, { title, address, pollMs: ctx.pollMs ?? 1_000, reporter: ctx.reporter });
      else ctx.reporter.emit({ type: 'log', level: 'info', message: title, address });
    } catch (err) {
      const gone = isPveError(err, 'LAB_PVE_NOT_FOUND') || (isPveError(err, 'LAB_PVE_TASK_FAILED') && /does not exist/.test(err.pveMessage));
      if (!gone) throw err;
    }
    deleted.push(a);
  }
  return deleted;
}
