import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a persona lock (adr/0162): enough to tell, from the same machine, whether that
 * process still exists. A pid alone is not enough (pids are reused), so the process start time
 * (`/proc/<pid>/stat` field 22, clock ticks since boot) and the boot id are recorded with it.
 */
export interface LockHolder {
  /** Unique per acquisition: decides "is this lock mine". */
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  /** Process start (ticks since boot), when the OS tells it. */
  readonly pstart?: string;
  /** `/proc/sys/kernel/random/boot_id`, when the OS tells it. */
  readonly boot?: string;
  /** The lab run that took it (journal run id), when known. */
  readonly run?: string;
  /** Epoch ms the lock was taken. */
  readonly since: number;
  /** Epoch ms after which anyone may take it over. */
  readonly expires: number;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot (Linux), or undefined. */
export function processStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

export function bootId(): string | undefined {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

let processRun: string | undefined;

/** The id of this lab run: `LAB_RUN_ID` when the caller sets one, else one random id per process. */
export function currentRunId(): string {
  return process.env['LAB_RUN_ID'] || (processRun ??= randomUUID().slice(0, 8));
}

/** This process as a lock holder. */
export function selfHolder(owner: string, since: number, expires: number, run: string = currentRunId()): LockHolder {
  const pstart = processStart(process.pid);
  const boot = bootId();
  return { owner, host: hostname(), pid: process.pid, ...(pstart ? { pstart } : {}), ...(boot ? { boot } : {}), ...(run ? { run } : {}), since, expires };
}

const TOKEN = /^[A-Za-z0-9._:@-]+$/;
const clean = (v: string): string => (TOKEN.test(v) ? v : v.replace(/[^A-Za-z0-9._:@-]/g, '_'));

/** The pool comment: `lab-lock owner=… host=… pid=… pstart=… boot=… run=… since=… expires=…`. */
export function formatHolder(h: LockHolder): string {
  const parts: [string, string | number | undefined][] = [
    ['owner', h.owner],
    ['host', h.host],
    ['pid', h.pid],
    ['pstart', h.pstart],
    ['boot', h.boot],
    ['run', h.run],
    ['since', h.since],
    ['expires', h.expires],
  ];
  return `lab-lock ${parts.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${clean(String(v))}`).join(' ')}`;
}

/** Parse a pool comment; the older `lab-lock owner=<host>:<pid>:<nonce> expires=N` form too. */
export function parseHolder(text: string | undefined): LockHolder | undefined {
  const t = text?.trim() ?? '';
  if (!t.startsWith('lab-lock ')) return undefined;
  const kv = new Map(t.slice(9).split(/\s+/).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
  const owner = kv.get('owner');
  const expires = Number(kv.get('expires'));
  if (!owner || !Number.isFinite(expires)) return undefined;
  const legacy = /^(.+):(\d+):[^:]+$/.exec(owner);
  const host = kv.get('host') ?? legacy?.[1] ?? '';
  const pid = Number(kv.get('pid') ?? legacy?.[2] ?? 0);
  const since = Number(kv.get('since') ?? NaN);
  return {
    owner,
    host,
    pid,
    ...(kv.get('pstart') ? { pstart: kv.get('pstart')! } : {}),
    ...(kv.get('boot') ? { boot: kv.get('boot')! } : {}),
    ...(kv.get('run') ? { run: kv.get('run')! } : {}),
    since: Number.isFinite(since) ? since : NaN,
    expires,
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Is the holder provably gone? Only a holder on this very host can be judged: it is gone when
 * the host rebooted since (boot id), its pid no longer exists, or the pid now belongs to a
 * process that started at another time (reused). A holder elsewhere is never judged gone.
 */
export function holderGone(h: LockHolder): boolean {
  if (!h.host || h.host !== hostname() || !(h.pid > 0)) return false;
  const boot = bootId();
  if (h.boot && boot && h.boot !== boot) return true;
  if (!pidAlive(h.pid)) return true;
  if (h.pstart) {
    const now = processStart(h.pid);
    if (now !== undefined && now !== h.pstart) return true;
  }
  return false;
}

export function describeHolder(h: LockHolder): string {
  const since = Number.isFinite(h.since) ? `since ${new Date(h.since).toISOString()}` : 'since an unknown time';
  const who = h.pid > 0 ? `pid ${h.pid} on ${h.host || 'an unknown host'}` : `owner ${h.owner}`;
  return `${h.run ? `lab run ${h.run} (${who})` : who}, ${since}`;
}
