#!/usr/bin/env node
// The `lab` binary. It runs the esbuild bundle in dist/ when that bundle is newer than every
// workspace source it was built from (built by `pnpm install`, or `pnpm build`). In the
// workspace, a stale bundle (after `git pull` or an edit) is rebuilt first, once (~5 s), so the
// commands after it start from the bundle again (well under 1 s) rather than each paying for
// tsx (2–5 s); when it cannot be rebuilt (another command is rebuilding it, no esbuild), the
// TypeScript sources run through tsx with the "@lab/source" export condition, so an edit never
// runs stale code. LAB_FROM_SOURCE=1 always runs the sources. src/main.ts decides the exit code.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const workspace = fileURLToPath(new URL('../../../', import.meta.url));

function distIsFresh() {
  if (!existsSync(dist)) return false;
  if (!existsSync(src)) return true; // packed install: dist is all there is
  if (process.env.LAB_FROM_SOURCE === '1') return false;
  try {
    const built = statSync(dist).mtimeMs;
    const inputs = JSON.parse(readFileSync(fileURLToPath(new URL('../dist/inputs.json', import.meta.url)), 'utf8'));
    return inputs.every((f) => statSync(workspace + f).mtimeMs <= built);
  } catch {
    return false; // a source was added, moved or removed since the build
  }
}

/** Rebuild dist/ (packages/cli/build.mjs); one process at a time, the others run from source. */
function rebuild() {
  if (process.env.LAB_FROM_SOURCE === '1' || process.env.LAB_NO_REBUILD === '1' || !existsSync(src)) return false;
  const lock = fileURLToPath(new URL('../.dist-build.lock', import.meta.url));
  try {
    // A lock left by a build that died is stale after two minutes.
    if (Date.now() - statSync(lock).mtimeMs > 120_000) unlinkSync(lock);
  } catch {}
  let fd;
  try {
    fd = openSync(lock, 'wx');
  } catch {
    return false;
  }
  try {
    process.stderr.write('lab: the CLI bundle is older than its sources; rebuilding it once (packages/cli/build.mjs)…\n');
    execFileSync(process.execPath, [fileURLToPath(new URL('../build.mjs', import.meta.url))], { stdio: ['ignore', 'ignore', 'inherit'] });
    return distIsFresh();
  } catch {
    return false;
  } finally {
    closeSync(fd);
    try {
      unlinkSync(lock);
    } catch {}
  }
}

let entry;
if (distIsFresh() || rebuild()) {
  entry = new URL('../dist/main.js', import.meta.url);
} else {
  register(new URL('./source-condition.mjs', import.meta.url));
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  entry = new URL('../src/main.ts', import.meta.url);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
