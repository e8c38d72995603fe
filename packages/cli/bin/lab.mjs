#!/usr/bin/env node
// The `lab` binary. Inside the workspace it runs the TypeScript sources directly (tsx, plus
// the "@lab/source" export condition so sibling packages resolve to their src/); a packed
// install runs the built dist/ instead. Either way src/main.ts decides the exit code.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
const src = new URL('../src/main.ts', import.meta.url);

let entry = dist;
if (existsSync(fileURLToPath(src)) && (process.env.LAB_USE_DIST !== '1' || !existsSync(fileURLToPath(dist)))) {
  register(new URL('./source-condition.mjs', import.meta.url));
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  entry = src;
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
