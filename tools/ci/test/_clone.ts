import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

export interface Clone {
  readonly dir: string;
  git(...args: string[]): string;
  /** Append a comment line: a change Git and Nx see, harmless to YAML, TypeScript and age armor. */
  touch(file: string): void;
  commit(message: string): void;
}

/**
 * A temporary git repository holding the workspace's tracked and new files (not ignored ones),
 * sharing its installed node_modules: what a CI job sees after checkout and `pnpm install`.
 * Each package's node_modules is linked too, so the lab binary runs from the copy.
 */
export function cloneWorkspace(prefix = 'lab-ci-'): Clone {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: WORKSPACE, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(WORKSPACE, f), join(dir, f));
    } catch {
      // listed but deleted in the work tree
    }
  }
  symlinkSync(join(WORKSPACE, 'node_modules'), join(dir, 'node_modules'));
  for (const group of ['packages', 'tools']) {
    for (const pkg of readdirSync(join(WORKSPACE, group))) {
      const nm = join(WORKSPACE, group, pkg, 'node_modules');
      if (existsSync(nm) && existsSync(join(dir, group, pkg))) symlinkSync(nm, join(dir, group, pkg, 'node_modules'));
    }
  }
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=ci@lab.test', '-c', 'user.name=lab ci test', ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  // The links are not directories, so .gitignore's `node_modules/` does not cover them.
  appendFileSync(join(dir, '.git/info/exclude'), 'node_modules\n');
  return {
    dir,
    git,
    touch: (file) => appendFileSync(join(dir, file), file.endsWith('.ts') ? '\n// touched by the affected test\n' : '\n# touched by the affected test\n'),
    commit: (message) => {
      git('add', '-A');
      git('commit', '-qm', message);
    },
  };
}
