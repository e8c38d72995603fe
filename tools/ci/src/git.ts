import { execFileSync } from 'node:child_process';
import { LabError } from '@lab/core';

function git(cwd: string, ...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (cause) {
    const stderr = String((cause as { stderr?: unknown }).stderr ?? '').trim();
    throw new LabError({
      code: 'LAB_CI_GIT',
      summary: `git ${args.join(' ')} failed${stderr ? `: ${stderr.split('\n')[0]}` : ''}`,
      hint: 'fetch the base branch with enough history (e.g. actions/checkout with fetch-depth: 0), or pass --base <commit>',
      cause,
    });
  }
}

function refExists(cwd: string, ref: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `origin/main` when the clone has it (a pull request job), else the previous commit. */
export function defaultBase(cwd: string): string {
  return refExists(cwd, 'origin/main') ? 'origin/main' : 'HEAD~1';
}

export interface ChangeSet {
  readonly base: string;
  readonly head: string | undefined;
  /** The commit changes are measured from: merge-base(base, head or HEAD), as Nx does. */
  readonly mergeBase: string;
  /** Paths relative to the workspace, sorted; deleted files included. */
  readonly files: readonly string[];
}

/**
 * The files a change touches, as `nx affected --base --head` counts them: from the merge base
 * to `head`; without `head`, to the work tree, plus untracked files.
 */
export function changedFiles(cwd: string, base: string, head?: string): ChangeSet {
  const mergeBase = git(cwd, 'merge-base', base, head ?? 'HEAD').trim();
  const lines = head
    ? git(cwd, 'diff', '--name-only', '--no-renames', mergeBase, head)
    : git(cwd, 'diff', '--name-only', '--no-renames', mergeBase) + git(cwd, 'ls-files', '--others', '--exclude-standard');
  const files = [...new Set(lines.split('\n').filter(Boolean))].sort();
  return { base, head, mergeBase, files };
}
