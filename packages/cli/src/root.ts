import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LabError } from '@lab/core';

/**
 * The lab root is the directory holding `lab.yaml`: `--root`, else `LAB_ROOT`, else the nearest
 * ancestor of the working directory that has one (as git finds `.git`).
 */
export function findLabRoot(explicit: string | undefined, cwd = process.cwd(), env = process.env): string {
  const given = explicit ?? env.LAB_ROOT;
  if (given) {
    const root = resolve(cwd, given);
    if (!existsSync(join(root, 'lab.yaml'))) {
      throw new LabError({
        code: 'LAB_ROOT_NOT_FOUND',
        summary: `no lab.yaml in ${root}`,
        hint: 'point --root (or LAB_ROOT) at the directory that holds lab.yaml',
      });
    }
    return root;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'lab.yaml'))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new LabError({
    code: 'LAB_ROOT_NOT_FOUND',
    summary: `no lab.yaml in ${cwd} or any parent directory`,
    hint: 'run lab inside your lab repository, or pass --root <dir>',
  });
}
