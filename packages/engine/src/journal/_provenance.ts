import { execFile } from 'node:child_process';
import { hostname, userInfo } from 'node:os';
import { gitDirty, gitHead } from '@lab/core';
import type { JournalGit } from './entry.js';

interface GitResult {
  readonly ok: boolean;
  readonly stdout: string;
}

function git(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', [...args], { cwd, env, timeout: 10_000, maxBuffer: 4 * 2 ** 20 }, (error, stdout) => {
      resolve({ ok: error === null, stdout: String(stdout) });
    });
  });
}

/** `git config user.email` as Git would answer in the lab, else `$USER@hostname`. */
export async function operatorOf(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const email = await git(root, ['config', 'user.email'], env);
  const value = email.stdout.trim();
  if (email.ok && value !== '') return value;
  let user = env.USER ?? env.LOGNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

/**
 * HEAD of the lab's repository and whether the lab's files differ from it. The journal is left
 * out of the dirty check: the run being recorded would otherwise always mark the next one dirty.
 */
export async function gitStateOf(root: string, env: NodeJS.ProcessEnv = process.env): Promise<JournalGit | null> {
  const commit = await gitHead(root, env);
  if (commit === undefined) return null;
  return { commit, dirty: (await gitDirty(root, ['.', ':(exclude)journal'], env)) ?? true };
}
