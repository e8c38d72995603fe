import { runStep, type Address, type Reporter } from '@lab/core';
import { apiPath } from './_form.js';
import { PveError, isPveError } from './errors.js';
import { pveArray, pveInt, pveRecord, pveString } from './coerce.js';
import { sleep } from './retry.js';
import { isTaskSuccess, parseUpid, type Upid } from './upid.js';
import type { PveTransport } from './transport.js';

/** Time as the task wait sees it; inject one to count polls in tests. */
export interface TaskClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: TaskClock = { now: () => Date.now(), sleep };

/** Defaults of a task wait; see adr/0155. */
export const TASK_WAIT_DEFAULTS = { firstPollMs: 50, pollMs: 1_000, silenceMs: 600_000 } as const;

export interface WaitOptions {
  readonly reporter?: Reporter;
  /** Step title; default `<type> <id> on <node>`. */
  readonly title?: string;
  readonly address?: Address;
  /** Reporter group (the persona) for the step's lines. */
  readonly group?: string;
  /**
   * Overall safety bound (the task keeps running on the node). Default: none, since a task
   * that stops logging is caught by `silenceMs`; pass one for work that must end by a deadline.
   */
  readonly timeoutMs?: number;
  /**
   * Give up when the task's log has not grown and its status has not changed for this long.
   * Default 10 min: a busy node can take minutes between log lines of a disk copy.
   */
  readonly silenceMs?: number;
  /** First poll after this long, doubling up to `pollMs`: a millisecond task costs milliseconds. Default 50 ms. */
  readonly firstPollMs?: number;
  /** Longest pause between polls (PVE's own clients poll every 1 s). Default 1 s. */
  readonly pollMs?: number;
  /** A fresh task may answer 400 `no such task` for this long (§4.3, BPG `WaitForTask`). Default 10 s. */
  readonly visibilityGraceMs?: number;
  readonly clock?: TaskClock;
}

export interface TaskResult {
  readonly upid: Upid;
  /** `OK` or `WARNINGS: n`. */
  readonly exitstatus: string;
  /** `WARN: …` lines of the log. */
  readonly warnings: readonly string[];
  /** Every log line read, in order. */
  readonly log: readonly string[];
  readonly durationMs: number;
}

/** A task that ended in error: its exit status and the tail of its log. */
export class PveTaskError extends PveError {
  readonly upid: string;
  readonly exitstatus: string;
  readonly log: readonly string[];

  constructor(upid: Upid, exitstatus: string, log: readonly string[]) {
    const tail = log.slice(-20);
    super({
      code: 'LAB_PVE_TASK_FAILED',
      summary: `task ${upid.type}${upid.id ? ` ${upid.id}` : ''} on ${upid.node} failed: ${exitstatus}`,
      detail: tail.length > 0 ? `last log lines:\n${tail.map((l) => `  ${l}`).join('\n')}` : undefined,
      hint: taskHint(upid, exitstatus),
      call: { method: 'TASK', path: apiPath('nodes', upid.node, 'tasks', upid.upid), message: exitstatus },
    });
    this.name = 'PveTaskError';
    this.upid = upid.upid;
    this.exitstatus = exitstatus;
    this.log = log;
  }
}

function taskHint(upid: Upid, exitstatus: string): string {
  if (/VM is locked|can't lock file/.test(exitstatus)) return 'another task holds the VM; wait for it to finish, or clear a stale lock with `qm unlock <vmid>` on the node';
  if (/already running/.test(exitstatus)) return 'the VM was already running; run `lab plan` again';
  return `full log on the node: \`pvenode task log '${upid.upid}'\``;
}

function badUpid(text: unknown): PveError {
  return new PveError({ code: 'LAB_PVE_API', summary: `Proxmox returned '${String(text)}' where a task id (UPID) was expected`, hint: 'this Proxmox version answers differently than lab expects; run `lab check --layer l0`' });
}

/**
 * Follow a task to its end: poll its status, report new log lines as step progress, and
 * resolve on `OK`/`WARNINGS: n` or throw `LAB_PVE_TASK_FAILED` with the log excerpt.
 */
export async function waitForTask(transport: PveTransport, upidText: unknown, options: WaitOptions = {}): Promise<TaskResult> {
  const upid = typeof upidText === 'string' ? parseUpid(upidText) : undefined;
  if (!upid) throw badUpid(upidText);
  const title = options.title ?? `${upid.type}${upid.id ? ` ${upid.id}` : ''} on ${upid.node}`;
  const run = (progress: (message: string) => void) => follow(transport, upid, options, progress);
  if (!options.reporter) return run(() => undefined);
  return runStep(options.reporter, title, run, { ...(options.address ? { address: options.address } : {}), ...(options.group ? { group: options.group } : {}) });
}

async function follow(transport: PveTransport, upid: Upid, options: WaitOptions, progress: (message: string) => void): Promise<TaskResult> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  const timeoutMs = options.timeoutMs;
  const silenceMs = options.silenceMs ?? TASK_WAIT_DEFAULTS.silenceMs;
  const maxPollMs = Math.max(1, options.pollMs ?? TASK_WAIT_DEFAULTS.pollMs);
  let delay = Math.min(maxPollMs, options.firstPollMs ?? TASK_WAIT_DEFAULTS.firstPollMs);
  const graceMs = options.visibilityGraceMs ?? 10_000;
  const base = apiPath('nodes', upid.node, 'tasks', upid.upid);
  const log: string[] = [];
  let lastSign = started;
  let lastStatus = '';

  const readLog = async (): Promise<void> => {
    const before = log.length;
    const lines = pveArray(await transport.request('GET', `${base}/log`, { start: log.length, limit: 500 }));
    for (const row of lines) {
      const r = pveRecord(row);
      const n = pveInt(r['n']);
      const t = pveString(r['t']) ?? '';
      // An empty log reads as one `no content` line; it is not part of the task's output.
      if (t === 'no content' && log.length === 0 && lines.length === 1) continue;
      if (n === undefined || n > log.length) log.push(t);
    }
    if (log.length > before) lastSign = clock.now();
    const last = log.at(-1);
    if (last) progress(last);
  };

  for (;;) {
    let status: Readonly<Record<string, unknown>> | undefined;
    try {
      status = pveRecord(await transport.request('GET', `${base}/status`));
    } catch (err) {
      if (!(isPveError(err, 'LAB_PVE_INVALID') && /no such task/.test(JSON.stringify(err.call?.paramErrors ?? err.pveMessage)) && clock.now() - started < graceMs)) throw err;
    }
    if (status && pveString(status['status']) === 'stopped') {
      await readLog().catch(() => undefined);
      const exitstatus = pveString(status['exitstatus']) ?? 'unexpected status';
      if (!isTaskSuccess(exitstatus)) throw new PveTaskError(upid, exitstatus, log);
      return { upid, exitstatus, warnings: log.filter((l) => l.startsWith('WARN')), log, durationMs: clock.now() - started };
    }
    if (status) {
      const seen = JSON.stringify(status);
      if (seen !== lastStatus) lastSign = clock.now();
      lastStatus = seen;
      await readLog().catch(() => undefined);
    }
    const now = clock.now();
    if (timeoutMs !== undefined && now - started >= timeoutMs) {
      throw new PveError({
        code: 'LAB_PVE_TIMEOUT',
        summary: `task ${upid.type} ${upid.id} on ${upid.node} still runs after ${Math.round(timeoutMs / 1000)} s`,
        detail: log.length > 0 ? `last log line: ${log.at(-1)}` : undefined,
        hint: `it keeps running on the node; follow it with \`pvenode task log '${upid.upid}'\` and run \`lab plan\` once it ended`,
      });
    }
    if (now - lastSign >= silenceMs) throw taskSilent(upid, now - lastSign, log);
    await clock.sleep(delay);
    delay = Math.min(maxPollMs, delay * 2);
  }
}

function taskSilent(upid: Upid, silentMs: number, log: readonly string[]): PveError {
  const tail = log.slice(-3);
  return new PveError({
    code: 'LAB_PVE_TASK_SILENT',
    summary: `task ${upid.type}${upid.id ? ` ${upid.id}` : ''} on ${upid.node} showed no sign of life for ${Math.round(silentMs / 1000)} s (its log did not grow)`,
    detail: tail.length > 0 ? `last log lines:\n${tail.map((l) => `  ${l}`).join('\n')}` : 'the task wrote no log line',
    hint: `it may still be running on the node: look with \`pvenode task log '${upid.upid}'\`; if such silence is normal there, raise proxmox.taskSilenceTimeout in lab.yaml`,
  });
}
