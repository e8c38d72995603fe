import { execFile } from 'node:child_process';

/**
 * The lab repository's Git state, read one way for everything that stamps it (the journal, VM
 * backup notes, template manifests, restic's `commit:` tag), so their commits always agree
 * (adr/0141). Git is asked, not parsed from `.git/`, so worktrees, packed refs and submodules work.
 */

function git(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeout: number): Promise<{ ok: boolean; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', ['-C', cwd, ...args], { env, timeout, maxBuffer: 16 * 2 ** 20 }, (error, stdout) => resolve({ ok: error === null, stdout: String(stdout) }));
  });
}

/** `git rev-parse --short HEAD` in `root`; undefined outside a work tree or before the first commit. */
export async function gitHead(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const head = await git(root, ['rev-parse', '--short', 'HEAD'], env, 10_000);
  const commit = head.stdout.trim();
  return head.ok && commit !== '' ? commit : undefined;
}

/**
 * Whether tracked or untracked (not ignored) files differ from HEAD, limited to `pathspec` when
 * given (e.g. `['.', ':(exclude)journal']`); undefined when Git could not answer.
 */
export async function gitDirty(root: string, pathspec: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<boolean | undefined> {
  const status = await git(root, ['status', '--porcelain', '--untracked-files=normal', ...(pathspec.length > 0 ? ['--', ...pathspec] : [])], env, 30_000);
  return status.ok ? status.stdout.trim() !== '' : undefined;
}
