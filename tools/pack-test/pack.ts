import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const WORKSPACE = fileURLToPath(new URL('../../', import.meta.url));

/** A workspace package by directory under packages/, e.g. `l2-vm`. */
export type PackageDir = string;

async function manifest(dir: PackageDir): Promise<{ name: string; version: string; dependencies?: Record<string, string> }> {
  return JSON.parse(await readFile(join(WORKSPACE, 'packages', dir, 'package.json'), 'utf8'));
}

/**
 * Build `dist/` of each package and, through their project references, of the workspace
 * packages they depend on: one `tsc -b` over `tsconfig.build.json`, incremental (a second run
 * with no source change takes a fraction of a second). The build drops the "@lab/source"
 * condition, so declarations refer to dependencies' `dist/*.d.ts` as a consumer's would.
 */
export async function buildDist(dirs: readonly PackageDir[]): Promise<void> {
  const projects = dirs.map((d) => join(WORKSPACE, 'packages', d, 'tsconfig.build.json'));
  await run(join(WORKSPACE, 'node_modules/.bin/tsc'), ['-b', ...projects], { cwd: WORKSPACE, timeout: 300_000 });
}

/**
 * `pnpm pack` each package into `dest`: pnpm rewrites `workspace:^` ranges to the versions a
 * registry would serve. Returns package name → tarball path.
 */
export async function pack(dirs: readonly PackageDir[], dest: string): Promise<Map<string, string>> {
  await mkdir(dest, { recursive: true });
  const packed = await Promise.all(
    dirs.map(async (d): Promise<[string, string]> => {
      const m = await manifest(d);
      await run('pnpm', ['pack', '--pack-destination', dest], { cwd: join(WORKSPACE, 'packages', d) });
      // pnpm's tarball name for @scope/name@1.2.3 is scope-name-1.2.3.tgz.
      return [m.name, join(dest, `${m.name.replace(/^@/, '').replace('/', '-')}-${m.version}.tgz`)];
    }),
  );
  return new Map(packed);
}

/**
 * A project outside the workspace that depends on the tarballs, installed with npm as any
 * consumer would. Every `@lab/*` tarball is a direct dependency so npm takes them from disk and
 * never asks the registry for a `@lab` name; external dependencies come from the registry (or
 * npm's cache). Install scripts are off: ssh2's optional native speed-ups are not needed.
 */
export async function installConsumer(dir: string, tarballs: ReadonlyMap<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const dependencies = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'lab-consumer', private: true, type: 'module', dependencies }, null, 2)}\n`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error', '--no-package-lock'], { cwd: dir, timeout: 300_000 });
}
