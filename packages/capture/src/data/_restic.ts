import { redact, type LabError, type Secret } from '@lab/core';
import { shq, type SshConnection } from '@lab/ssh';
import type { OpenRepository } from './_repository.js';
import { captureError, tail } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 6 * 3600_000;
/** How long a restic run may print nothing (see `ResticOptions.silenceMs`). */
export const RESTIC_SILENCE_MS = 30 * 60_000;

export interface ResticOptions {
  /** Source repository of `copy` / `init --copy-chunker-params`. */
  readonly from?: OpenRepository;
  /** Interrupt restic (SIGINT, so it removes its lock) after this many seconds, in the guest. */
  readonly timeoutS?: number;
  readonly timeoutMs?: number;
  /**
   * restic prints a status line every 10 s (RESTIC_PROGRESS_FPS) while it backs up or
   * restores, but `check`, `forget` and `prune` can be quiet for long on a big repository.
   */
  readonly silenceMs?: number;
  /** Shell run before restic in the same script (after the environment is set). */
  readonly before?: string;
}

export interface ResticRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function secretsOf(repo: OpenRepository, from?: OpenRepository): Secret<string>[] {
  return from ? [repo.password, from.password] : [repo.password];
}

/**
 * The script that runs one restic command as root in the guest. Passwords and locations go in
 * the environment of that one process tree, set by a script that travels on stdin: never on a
 * command line, never in a file.
 */
export function resticScript(repo: OpenRepository, args: readonly string[], options: ResticOptions = {}): string {
  const { from } = options;
  const flags: string[] = [];
  // Both repositories may bring the same `-o k=v` pair; dedupe pairs without splitting them.
  const seen = new Set<string>();
  const all = [...repo.options, ...(from?.options ?? [])];
  for (let i = 0; i + 1 < all.length; i += 2) {
    const pair = `${all[i]} ${all[i + 1]}`;
    if (seen.has(pair)) continue;
    seen.add(pair);
    flags.push(all[i]!, all[i + 1]!);
  }
  const cmd = ['restic', ...flags, ...args].map(shq).join(' ');
  const timed = options.timeoutS !== undefined ? `timeout -s INT -k 60 ${Math.max(1, Math.round(options.timeoutS))} ${cmd}` : cmd;
  return [
    `export RESTIC_PASSWORD=${shq(repo.password.reveal())}`,
    `export RESTIC_REPOSITORY=${shq(repo.url)}`,
    // Status lines are collected whole; one every ten seconds keeps a long backup's output small.
    'export RESTIC_PROGRESS_FPS=0.1',
    ...(from ? [`export RESTIC_FROM_PASSWORD=${shq(from.password.reveal())}`, `export RESTIC_FROM_REPOSITORY=${shq(from.url)}`] : []),
    options.before ?? '',
    `${timed}; rc=$?`,
    'return $rc',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Run restic in the guest; the exit code is the caller's to judge (see `resticFailure`). */
export async function restic(conn: SshConnection, repo: OpenRepository, args: readonly string[], options: ResticOptions = {}): Promise<ResticRun> {
  const secrets = secretsOf(repo, options.from);
  const r = await conn.script(resticScript(repo, args, options), {
    sudo: true,
    fresh: true,
    secrets,
    label: `restic ${args[0] ?? ''}`.trim(),
    timeoutMs: options.timeoutMs ?? (options.timeoutS !== undefined ? options.timeoutS * 1000 + 120_000 : DEFAULT_TIMEOUT_MS),
    silenceMs: options.silenceMs ?? RESTIC_SILENCE_MS,
  });
  return { code: r.code, stdout: redact(r.stdout, secrets), stderr: redact(r.stderr, secrets) };
}

/** Turn a failed restic run into the error a human can act on. */
export function resticFailure(what: string, repo: OpenRepository, run: ResticRun, hintFor?: string): LabError {
  const err = run.stderr;
  const detail = tail(err || run.stdout);
  if (/wrong password or no key found/i.test(err)) {
    return captureError('LAB_CAPTURE_WRONG_PASSWORD', `${what}: the password does not open repository ${repo.name}`, {
      detail,
      hint: 'check the secret lab.yaml names for this repository: lab secret show <name> (the repository keeps the password it was created with)',
    });
  }
  if (/unable to open config file|Is there a repository at the following location/i.test(err)) {
    return captureError('LAB_CAPTURE_NO_REPOSITORY', `${what}: repository ${repo.name} has not been created yet`, {
      detail,
      hint: hintFor ? `the first capture creates it: lab capture data --persona ${hintFor}` : 'the first capture creates it: lab capture data --persona <name>',
    });
  }
  if (/repository is already locked/i.test(err)) {
    return captureError('LAB_CAPTURE_LOCKED', `${what}: repository ${repo.name} is locked by another restic run`, {
      detail,
      hint: 'wait for the other run to finish; a lock left by a crashed run goes with `restic unlock` (lab removes stale locks before forget)',
    });
  }
  if (run.code === 124 || run.code === 130) {
    return captureError('LAB_CAPTURE_TIMEOUT', `${what} did not finish in time and was interrupted`, { detail, hint: 'raise capture.consistency.timeout in the persona, or capture less data' });
  }
  return captureError('LAB_CAPTURE_RESTIC_FAILED', `${what} failed (restic exit ${run.code ?? 'signal'})`, { detail, hint: 'fix the cause shown above and run the command again; restic runs are safe to repeat' });
}

/** Lines of restic `--json` output that parse as JSON objects (progress lines included). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      // A status line cut by the terminal width or a stray message: not data.
    }
  }
  return out;
}

/** The first JSON array or object document in restic output (snapshots, forget). */
export function jsonDocument<T>(stdout: string, what: string): T {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw captureError('LAB_CAPTURE_RESTIC_FAILED', `${what}: restic printed no JSON`, { detail: tail(stdout) });
  const line = stdout.slice(start).split('\n')[0] ?? '';
  try {
    return JSON.parse(line) as T;
  } catch (cause) {
    throw captureError('LAB_CAPTURE_RESTIC_FAILED', `${what}: cannot read restic's JSON output`, { detail: tail(line, 3), cause });
  }
}
