import { toLabError, type Reporter } from '@lab/core';
import { shq, type SshConnection } from '@lab/ssh';
import { captureError, tail } from './errors.js';
import type { ConsistencyIntent, WorkloadLayout } from './types.js';

/** The compose command for one stack's `current` release, as L4 lays releases out. */
export function composeCommandFor(w: WorkloadLayout, stack: string): string {
  const cur = `${w.stacksDir}/${stack}/current`;
  return `${w.composeCommand} -p ${shq(stack)} --project-directory ${shq(cur)} -f ${shq(`${cur}/compose.yaml`)}$( [ -f ${shq(`${cur}/.env`)} ] && printf ' --env-file %s' ${shq(`${cur}/.env`)} )`;
}

/**
 * Stop the stacks that are running, last first (dependents before what they depend on); a stack
 * that is not deployed or has nothing running is left alone and is not started afterwards.
 * Prints `@@paused <stack>` for each one stopped.
 */
export function pauseScript(w: WorkloadLayout, stacks: readonly string[] = w.stacks): string {
  return [...stacks]
    .reverse()
    .map((s) =>
      [
        `if [ -f ${shq(`${w.stacksDir}/${s}/current/compose.yaml`)} ] && [ -n "$(docker ps -q --filter label=com.docker.compose.project=${shq(s)} 2>/dev/null)" ]; then`,
        `  ${composeCommandFor(w, s)} stop >&2 || { echo ${shq(`could not stop stack ${s}`)} >&2; return 1; }`,
        `  echo ${shq(`@@paused ${s}`)}`,
        'fi',
      ].join('\n'),
    )
    .join('\n');
}

/** Start the given stacks in order; every one is tried, the script fails if any did. */
export function resumeScript(w: WorkloadLayout, stacks: readonly string[]): string {
  return ['failed=0', ...stacks.map((s) => `${composeCommandFor(w, s)} start >&2 || { echo ${shq(`could not start stack ${s}`)} >&2; failed=1; }`), 'return $failed'].join('\n');
}

export interface Paused {
  readonly stacks: readonly string[];
  /** Start them again; throws LAB_CAPTURE_RESUME_FAILED when a stack does not start. */
  resume(): Promise<void>;
}

/** Stop the persona's running stacks; `resume()` starts exactly those again. */
export async function pauseStacks(conn: SshConnection, w: WorkloadLayout, reporter?: Reporter): Promise<Paused> {
  if (w.stacks.length === 0) return { stacks: [], resume: async () => undefined };
  // Stopping waits on the containers' own stop timeouts, quietly: bounded, so silence is no sign of a hang here.
  const r = await conn.script(pauseScript(w), { sudo: true, timeoutMs: 600_000, silenceMs: 600_000, label: 'pausing the stacks' });
  const stopped = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('@@paused '))
    .map((l) => l.slice('@@paused '.length))
    .reverse();
  const resume = async () => {
    if (stopped.length === 0) return;
    const s = await conn.script(resumeScript(w, stopped), { sudo: true, timeoutMs: 600_000, silenceMs: 600_000, label: 'starting the stacks again' });
    if (s.code !== 0) {
      throw captureError('LAB_CAPTURE_RESUME_FAILED', `stacks ${stopped.join(', ')} of ${conn.label} did not all start again`, {
        detail: tail(s.stderr),
        hint: 'bring them up with `lab apply --layer l4 --persona <name>`',
      });
    }
    reporter?.emit({ type: 'log', level: 'info', message: `started ${stopped.join(', ')} again` });
  };
  if (r.code !== 0) {
    // Whatever did stop must run again before the failure is reported.
    await resume().catch(() => undefined);
    throw captureError('LAB_CAPTURE_PAUSE_FAILED', `cannot pause the stacks of ${conn.label}`, { detail: tail(r.stderr), hint: 'check the stacks with `lab check --layer l4 --persona <name>`' });
  }
  if (stopped.length > 0) reporter?.emit({ type: 'log', level: 'info', message: `paused ${stopped.join(', ')}` });
  return { stacks: stopped, resume };
}

async function hook(conn: SshConnection, which: 'pre' | 'post', command: string, timeoutS: number): Promise<void> {
  const r = await conn.script(`timeout -k 10 ${Math.max(1, Math.round(timeoutS))} bash -c ${shq(command)}`, { sudo: true, fresh: true, timeoutMs: timeoutS * 1000 + 60_000, silenceMs: timeoutS * 1000 + 60_000, label: `the ${which} hook` });
  if (r.code === 0) return;
  const timedOut = r.code === 124;
  throw captureError('LAB_CAPTURE_HOOK_FAILED', `the ${which} hook ${timedOut ? `did not finish within ${timeoutS} s` : `failed (exit ${r.code})`} on ${conn.label}`, {
    detail: tail(r.stderr || r.stdout),
    hint: `fix capture.consistency.${which} in the persona (it runs as root in the guest)`,
  });
}

export interface ConsistentRun<T> {
  readonly result: T;
  readonly paused: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Run `fn` (the snapshot) with the persona's consistency strategy around it: `pause` stops the
 * stacks and starts them again whatever happens, `fn` getting the pause budget in seconds;
 * `hook` runs `pre` (a failing pre skips the snapshot) and always `post`; `none` just runs it.
 */
export async function withConsistency<T>(
  conn: SshConnection,
  c: ConsistencyIntent,
  w: WorkloadLayout,
  fn: (budgetS: number | undefined) => Promise<T>,
  reporter?: Reporter,
): Promise<ConsistentRun<T>> {
  if (c.strategy === 'none') return { result: await fn(undefined), paused: [], warnings: [] };
  if (c.strategy === 'pause') {
    const paused = await pauseStacks(conn, w, reporter);
    let result: T;
    try {
      result = await fn(paused.stacks.length > 0 ? c.timeoutS : undefined);
    } catch (error) {
      try {
        await paused.resume();
      } catch (resumeError) {
        reporter?.emit({ type: 'log', level: 'warn', message: toLabError(resumeError).summary });
      }
      throw error;
    }
    await paused.resume();
    return { result, paused: paused.stacks, warnings: [] };
  }
  const warnings: string[] = [];
  const post = async () => {
    if (c.post === undefined) return;
    try {
      await hook(conn, 'post', c.post, c.timeoutS);
    } catch (error) {
      const e = toLabError(error);
      warnings.push(`${e.summary}${e.detail ? `: ${e.detail.split('\n').at(-1)}` : ''}`);
      reporter?.emit({ type: 'log', level: 'warn', message: e.summary });
    }
  };
  try {
    if (c.pre !== undefined) await hook(conn, 'pre', c.pre, c.timeoutS);
    const result = await fn(undefined);
    await post();
    return { result, paused: [], warnings };
  } catch (error) {
    await post();
    throw error;
  }
}
