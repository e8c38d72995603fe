import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { LabError } from '@lab/core';
import { apiPath, isPveError, pveRecord, pveString, type PveClient } from '@lab/pve';

export interface LockOptions {
  /** After this the lock may be stolen (a crashed apply never released it). Default 15 min. */
  readonly ttlMs?: number;
  readonly now?: () => number;
  readonly owner?: string;
}

export interface HeldLock {
  readonly poolid: string;
  readonly owner: string;
  release(): Promise<void>;
}

export function lockPool(persona: string): string {
  return `lab-lock-${persona}`;
}

function parseComment(text: string | undefined): { owner: string; expires: number } | undefined {
  const m = /^lab-lock owner=(\S+) expires=(\d+)$/.exec(text?.trim() ?? '');
  return m ? { owner: m[1]!, expires: Number(m[2]) } : undefined;
}

/**
 * A per-persona lock held on the cluster (adr/0088): a Proxmox pool `lab-lock-<persona>` whose
 * creation is atomic (`pool … already exists`), with owner and expiry in its comment. Two applies
 * of one persona never both act; a lock older than its expiry is stolen.
 */
export async function acquireLock(client: PveClient, persona: string, options: LockOptions = {}): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? 15 * 60_000;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const poolid = lockPool(persona);
  const path = apiPath('pools', poolid);
  for (let attempt = 0; attempt < 3; attempt++) {
    const comment = `lab-lock owner=${owner} expires=${now() + ttl}`;
    let created = false;
    try {
      created = (await client.mutate('POST', '/pools', { poolid, comment }, { alreadyDone: (e) => /already exists/.test(e.pveMessage) })).status === 'done';
    } catch (e) {
      if (!(isPveError(e) && /already exists/.test(e.pveMessage))) throw e;
    }
    if (created) return held(client, poolid, owner);
    // `already exists`: ours from a resent call, someone else's, or a stale one.
    const info = await readLock(client, path);
    if (info === 'gone') continue;
    if (info?.owner === owner) return held(client, poolid, owner);
    if (info && info.expires > now()) {
      throw new LabError({
        code: 'LAB_L2_LOCKED',
        summary: `another lab apply holds ${persona} (${info.owner}) until ${new Date(info.expires).toISOString()}`,
        hint: `wait for it to finish; a crashed run's lock expires by itself, or remove it: pvesh delete /pools/${poolid}`,
      });
    }
    await client.delete('/pools', { poolid }).catch((e: unknown) => {
      if (!isPveError(e)) throw e;
    });
  }
  throw new LabError({ code: 'LAB_L2_LOCKED', summary: `could not take the lock of ${persona}`, hint: 'run the apply again' });
}

async function readLock(client: PveClient, path: string): Promise<{ owner: string; expires: number } | undefined | 'gone'> {
  try {
    return parseComment(pveString(pveRecord(await client.get(path))['comment']));
  } catch (e) {
    if (isPveError(e) && /does not exist|not found/i.test(e.pveMessage)) return 'gone';
    throw e;
  }
}

function held(client: PveClient, poolid: string, owner: string): HeldLock {
  return {
    poolid,
    owner,
    async release() {
      const path = apiPath('pools', poolid);
      try {
        const info = await readLock(client, path);
        if (info !== 'gone' && info?.owner === owner) await client.delete('/pools', { poolid });
      } catch (e) {
        if (!isPveError(e) || !/does not exist/.test(e.pveMessage)) throw e;
      }
    },
  };
}
