#!/usr/bin/env node
// The whole lab, end to end: `node tools/bench/up/run.mjs` (or `pnpm bench up`).
// Figures, not a timed test (issue #13's goals, on this 2-core machine when idle):
//   - `pnpm demo --fresh` (guest and workload images cached) ≤ 6 min, and it must finish under load;
//   - `lab up --all` on the converged lab ≤ 5 s (median of 3 whole processes);
//   - `lab rebuild --persona media` ≤ 2 min (the demo's own rebuild step).
// It runs the demo from scratch (its closing table has every step's wall time), then times a
// converged `lab up --all` as a user runs it, and prints the load average at start and end.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const lab = `${repo}packages/cli/bin/lab.mjs`;
const root = `${repo}.lab/demo/lab`;
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

function run(args, { echo = false } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [lab, ...args], { cwd: repo, env: { ...process.env, LAB_AGE_KEY_FILE: `${repo}.lab/demo/age.key` }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (c) => {
      err += c;
      if (echo) process.stderr.write(c);
    });
    child.on('close', (code) => resolve({ code, ms: performance.now() - t0, err }));
  });
}

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const startLoad = load();
process.stderr.write('bench up: pnpm demo --fresh (the whole loop; minutes)\n');
const demo = await run(['demo', '--fresh']);
const table = demo.err.slice(demo.err.lastIndexOf('lab demo — every step'));
if (demo.code !== 0) {
  process.stdout.write(`${table}\nbench up: the demo failed (exit ${demo.code}); no figures\n`);
  process.exit(1);
}
const ups = [];
for (let i = 0; i < 3; i++) {
  const r = await run(['up', '--all', '--root', root]);
  if (r.code !== 0) {
    process.stdout.write(`bench up: lab up on the converged lab exited ${r.code}\n${r.err.split('\n').slice(-15).join('\n')}\n`);
    process.exit(1);
  }
  ups.push(r.ms);
}
ups.sort((a, b) => a - b);
const rebuild = /lab rebuild --persona media\s+(\S+)/.exec(table)?.[1] ?? '?';
process.stdout.write(
  [
    table.trimEnd(),
    '',
    `pnpm demo --fresh, whole          ${s(demo.ms).padStart(9)}   (goal ≤ 360 s on an idle machine)`,
    `lab up --all, converged lab       ${s(ups[1]).padStart(9)}   (median of 3 whole processes, min ${s(ups[0])}; goal ≤ 5 s)`,
    `lab rebuild --persona media       ${rebuild.padStart(9)}   (the demo's step; goal ≤ 2 min)`,
    `load average                      ${startLoad} → ${load()}`,
    '',
  ].join('\n'),
);
