import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { LabError } from '@lab/core';

/**
 * Who owns a simulator state dir. One process at a time serves (and writes) a state dir; the
 * lock file `<stateDir>/owner.lock` names it, so a second process can tell whose lock it is,
 * since when, and whether that holder is provably gone (same host and boot, pid dead or reused).
 */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** Kernel boot id: a lock from before a reboot is stale whatever its pid. */
  readonly bootId: string | undefined;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), to see a reused pid. */
  readonly procStart: string | undefined;
  /** ISO time the lock was taken. */
  readonly since: string;
  /** What holds it, e.g. `lab apply --layer l2` or `lab sim start`. */
  readonly purpose: string;
}

export const OWNER_LOCK = 'owner.lock';

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
export function processStart(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function currentHolder(purpose: string): LockHolder {
  return { pid: process.pid, host: hostname(), bootId: bootId(), procStart: processStart(process.pid), since: new Date().toISOString(), purpose };
}

/**
 * `alive`: the holder runs; `dead`: provably gone (same host: rebooted since, pid gone, or the
 * pid now belongs to a later process); `remote`: another host's, which this one cannot judge.
 */
export function holderState(h: LockHolder): 'alive' | 'dead' | 'remote' {
  if (h.host !== hostname()) return 'remote';
  const boot = bootId();
  if (h.bootId && boot && h.bootId !== boot) return 'dead';
  if (!pidAlive(h.pid)) return 'dead';
  if (h.procStart !== undefined) {
    const now = processStart(h.pid);
    if (now !== undefined && now !== h.procStart) return 'dead';
  }
  return 'alive';
}

export function describeHolder(h: LockHolder): string {
  return `${h.purpose} (pid ${h.pid} on ${h.host}, since ${h.since})`;
}

export async function readLockHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return undefined;
    return { pid: h.pid, host: h.host, bootId: h.bootId, procStart: h.procStart, since: h.since ?? '?', purpose: h.purpose ?? 'a process' };
  } catch {
    return undefined;
  }
}

/** Create `file` with `text` only if it does not exist (O_EXCL): the atomic step of every lock here. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  try {
    const fh = await open(file, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function same(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since && a.procStart === b.procStart;
}

/**
 * Remove a dead holder's lock. Takeovers are serialised by a short-lived guard file, so two
 * processes that both saw the dead lock cannot both remove it (the second would remove the
 * first one's fresh lock); a guard older than 10 s belongs to a process that died mid-takeover.
 */
async function removeStale(file: string, dead: LockHolder): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, String(process.pid)))) {
    try {
      if (Date.now() - (await stat(guard)).mtimeMs > 10_000) await rm(guard, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const now = await readLockHolder(file);
    if (now && same(now, dead)) await rm(file, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

export interface OwnerLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** The previous holder, when this lock was taken over from a dead process. */
  readonly tookOverFrom: LockHolder | undefined;
  /** True while the lock file still names this holder. */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Take the state dir's owner lock, taking over at once from a holder that is provably gone.
 * Throws `LAB_SIM_STATE_BUSY` naming the holder while it lives (or is on another host).
 */
export async function acquireOwnerLock(stateDir: string, purpose: string): Promise<OwnerLock> {
  await mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, OWNER_LOCK);
  const me = currentHolder(purpose);
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await createExclusive(file, `${JSON.stringify(me)}\n`)) {
      let released = false;
      return {
        file,
        holder: me,
        tookOverFrom,
        async held() {
          const h = await readLockHolder(file);
          return !released && h !== undefined && same(h, me);
        },
        async release() {
          if (released) return;
          released = true;
          const h = await readLockHolder(file);
          if (h && same(h, me)) await rm(file, { force: true });
        },
      };
    }
    const holder = await readLockHolder(file);
    if (holder === undefined) {
      // Being written this instant, or torn by a crash between create and write.
      try {
        if (Date.now() - (await stat(file)).mtimeMs > 5_000) await rm(file, { force: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const state = holderState(holder);
    if (state === 'dead') {
      tookOverFrom = holder;
      await removeStale(file, holder);
      continue;
    }
    throw new LabError({
      code: 'LAB_SIM_STATE_BUSY',
      summary: `the simulator state ${stateDir} is owned by ${describeHolder(holder)}`,
      detail:
        state === 'remote'
          ? `the lock ${file} was taken on another host; this host cannot tell whether it still runs`
          : `one process at a time serves a simulator state dir (lock: ${file})`,
      hint:
        state === 'remote'
          ? `stop that process on ${holder.host}, or remove ${file} once you are sure it is gone`
          : `wait for it to finish, or stop it (kill ${holder.pid}); its endpoint.json lets other commands share it`,
    });
  }
  throw new LabError({
    code: 'LAB_SIM_STATE_BUSY',
    summary: `could not take the owner lock of ${stateDir}: it changed hands 20 times`,
    hint: 'run the command again',
  });
}
