import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunbookBlock } from './extract.js';

export const WORKSPACE = fileURLToPath(new URL('../../', import.meta.url));
const LAB_BIN = join(WORKSPACE, 'packages/cli/bin/lab.mjs');
const STAND_INS = fileURLToPath(new URL('./bin/', import.meta.url));

export interface Shell {
  /** The scratch lab the commands run in (their working directory). */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The environment runbook commands run in: `lab` on PATH is this workspace's CLI, `pvesh` is
 * the stand-in for Proxmox's that talks to the running simulator, HOME is a private directory
 * (`lab secret init` writes there), and git commits have an author.
 */
export function shellFor(root: string, base: string, extra: NodeJS.ProcessEnv): Shell {
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(base, 'home'), { recursive: true });
  writeFileSync(join(bin, 'lab'), `#!/bin/sh\nexec "${process.execPath}" "${LAB_BIN}" "$@"\n`);
  chmodSync(join(bin, 'lab'), 0o755);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extra,
    PATH: `${bin}:${STAND_INS}:${process.env.PATH ?? ''}`,
    HOME: join(base, 'home'),
    LAB_SIM_STATE: join(root, '.lab/sim'),
    GIT_AUTHOR_NAME: 'Runbook Test',
    GIT_AUTHOR_EMAIL: 'runbook@lab.test',
    GIT_COMMITTER_NAME: 'Runbook Test',
    GIT_COMMITTER_EMAIL: 'runbook@lab.test',
    NO_COLOR: '1',
  };
  return { root, env };
}

export interface BlockRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const FAILED = 97;

/**
 * Run one block as one bash script in the lab root: every command checked against its expected
 * exit code as soon as it returns, so a failure names the runbook line. Shell variables do not
 * carry from one block to the next; files do.
 */
export function runBlock(shell: Shell, file: string, block: RunbookBlock, timeoutMs = 240_000): Promise<BlockRun> {
  const script = [
    'set -uo pipefail',
    `__check() { local rc=$1 line=$2; shift 2; for e in "$@"; do [ "$rc" = "$e" ] && return 0; done; printf '%s:%s: exited %s, expected %s\\n' '${file}' "$line" "$rc" "$*" >&2; exit ${FAILED}; }`,
    ...block.commands.flatMap((c) => [c.text, `__check $? ${c.line} ${c.expect.join(' ')}`]),
  ].join('\n');
  return bash(shell, script, timeoutMs);
}

/** bash -c in the lab root, without blocking: runbooks run side by side. */
function bash(shell: Shell, script: string, timeoutMs: number): Promise<BlockRun> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: shell.root, env: shell.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Run one command in the lab root (the hidden set-up of a runbook), expecting `expect`. */
export async function sh(shell: Shell, command: string, expect: readonly number[] = [0]): Promise<BlockRun> {
  const run = await bash(shell, command, 240_000);
  if (!expect.includes(run.code)) throw new Error(`set-up command \`${command}\` exited ${run.code}, expected ${expect.join(' or ')}:\n${run.stderr}`);
  return run;
}

export interface RunningSim {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * `lab sim start` in the background for the whole runbook, as an operator would keep it in a
 * terminal: every `lab` command then uses it (endpoint.json), so records-only guests keep their
 * power state between commands, and `pvesh` has an API to talk to.
 */
export async function startSim(shell: Shell): Promise<RunningSim> {
  const child: ChildProcess = spawn(process.execPath, [LAB_BIN, 'sim', 'start', '--guests', 'none', '--timing', 'fast'], { cwd: shell.root, env: shell.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const endpoint = join(shell.env.LAB_SIM_STATE!, 'endpoint.json');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lab sim start exited ${child.exitCode}:\n${log}`);
    if (existsSync(endpoint)) {
      try {
        if ((JSON.parse(readFileSync(endpoint, 'utf8')) as { pid: number }).pid === child.pid) break;
      } catch {
        // written a moment later
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`lab sim start did not publish its endpoint in 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
