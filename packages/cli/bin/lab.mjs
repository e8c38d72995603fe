#!/usr/bin/env node
// The `lab` binary. It runs the esbuild bundle in dist/ when that bundle is newer than every
// workspace source it was built from (built by `pnpm install`, or `pnpm build`); otherwise, in
// the workspace, it runs the TypeScript sources directly through tsx with the "@lab/source"
// export condition, so an edit never runs stale code. src/main.ts decides the exit code.
import { existsSync, readFileSync, statSync } from 'node:fs';
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

let entry;
if (distIsFresh()) {
  entry = new URL('../dist/main.js', import.meta.url);
} else {
  register(new URL('./source-condition.mjs', import.meta.url));
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  entry = new URL('../src/main.ts', import.meta.url);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
