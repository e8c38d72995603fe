#!/usr/bin/env node
// Run every benchmark under tools/bench/<name>/run.mjs (or the ones named on the command line).
import { readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${here}${d.name}/run.mjs`))
  .map((d) => d.name)
  .filter((n) => wanted.length === 0 || wanted.includes(n));
let failed = 0;
for (const name of names) {
  console.log(`\n== bench ${name}`);
  const r = spawnSync(process.execPath, [`${here}${name}/run.mjs`], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
process.exitCode = failed ? 1 : 0;
