import { randomUUID } from 'node:crypto';
import { LabError } from '@lab/core';
import { createPool, deletePool, isPveError, pveString, readPool, type PveClient } from '@lab/pve';
import { describeHolder, formatHolder, holderGone, parseHolder, selfHolder, type LockHolder } from './holder.js';

export interface LockOptions {
  /** After this the lock may be taken over (a holder elsewhere never released it). Default 15 min. */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /** Unique token of this acquisition (default: a random one). */
  readonly owner?: string;
  /** The lab run taking the lock (shown to whoever finds it held). */
  readonly runId?: string;
  /** Take the lock even if its holder may still be alive (`--break-lock`). */
  readonly breakLock?: boolean;
  /** How the holder is judged gone; tests replace it. */
  readonly isGone?: (holder: LockHolder) => boolean;
}

export interface HeldLock {
  readonly poolid: string;
  readonly owner: string;
  /** Whose lock was taken over to get this one (a dead or expired holder, or --break-lock). */
  readonly tookOver?: { readonly holder: LockHolder; readonly why: 'gone' | 'expired' | 'broken' };
  release(): Promise<void>;
}

export function lockPool(persona: string): string {
  return `lab-lock-${persona}`;
}

/**
 * A per-persona lock held on the cluster (adr/0088, adr/0162): a Proxmox pool
 * `lab-lock-<persona>` whose creation is atomic (`pool … already exists`), its holder in the
 * comment (host, pid, process start, boot id, run id, since, expiry). A lock whose holder is
 * provably gone (same host; pid dead or reused; host rebooted) is taken over at once; one held
 * from another host waits for its expiry or `--break-lock`.
 */
export async function acquireLock(client: PveClient, persona: string, options: LockOptions = {}): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? 15 * 60_000;
  const owner = options.owner ?? randomUUID();
  const gone = options.isGone ?? holderGone;
  const poolid = lockPool(persona);
  let tookOver: HeldLock['tookOver'];
  for (let attempt = 0; attempt < 4; attempt++) {
    const t = now();
    const comment = formatHolder(selfHolder(owner, t, t + ttl, options.runId));
    let created = false;
    try {
      created = (await createPool(client, { poolid, comment }, { alreadyDone: (e) => /already exists/.test(e.pveMessage) })).status === 'done';
    } catch (e) {
      if (!(isPveError(e) && /already exists/.test(e.pveMessage))) throw e;
    }
    if (created) return held(client, poolid, owner, tookOver);
    // `already exists`: ours from a resent call, someone else's, or a stale one.
    const info = await readLock(client, poolid);
    if (info === 'gone') continue;
    if (info?.owner === owner) return held(client, poolid, owner, tookOver);
    if (info) {
      const why = options.breakLock ? 'broken' : info.expires <= now() ? 'expired' : gone(info) ? 'gone' : undefined;
      if (!why) {
        throw new LabError({
          code: 'LAB_L2_LOCKED',
          summary: `${persona} is locked by ${describeHolder(info)}; the lock expires at ${new Date(info.expires).toISOString()}`,
          detail: `the lock is the Proxmox pool ${poolid}; its holder is another lab process${info.host ? ` on ${info.host}` : ''} that may still be working on this persona`,
          hint: `wait for it to finish; if that run is gone: lab apply --layer l2 --persona ${persona} --break-lock`,
        });
      }
      tookOver = { holder: info, why };
    }
    // Stale (or unreadable) lock: remove it and race for a fresh one.
    await deletePool(client, poolid).catch((e: unknown) => {
      if (!isPveError(e)) throw e;
    });
  }
  throw new LabError({ code: 'LAB_L2_LOCKED', summary: `could not take the lock of ${persona}: others keep taking it`, hint: `run the apply again: lab apply --layer l2 --persona ${persona}` });
}

/** The holder of a persona's lock, `undefined` when unlocked. */
export async function lockHolder(client: PveClient, persona: string): Promise<LockHolder | undefined> {
  const info = await readLock(client, lockPool(persona));
  return info === 'gone' ? undefined : info;
}

async function readLock(client: PveClient, poolid: string): Promise<LockHolder | undefined | 'gone'> {
  try {
    return parseHolder(pveString((await readPool(client, poolid))['comment']));
  } catch (e) {
    if (isPveError(e) && /does not exist|not found/i.test(e.pveMessage)) return 'gone';
    throw e;
  }
}

function held(client: PveClient, poolid: string, owner: string, tookOver: HeldLock['tookOver']): HeldLock {
  return {
    poolid,
    owner,
    ...(tookOver ? { tookOver } : {}),
    async release() {
      try {
        const info = await readLock(client, poolid);
        if (info !== 'gone' && info?.owner === owner) await deletePool(client, poolid);
      } catch (e) {
        if (!isPveError(e) || !/does not exist/.test(e.pveMessage)) throw e;
      }
    },
  };
}
