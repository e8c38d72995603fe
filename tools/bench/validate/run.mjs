#!/usr/bin/env node
// Benchmark: cold `lab validate` of every persona of the example lab (goal ≤ 400 ms).
// Each run is a new node process, as an operator or a CI step would start it. Prints figures
// and the ratio to the goal; it asserts nothing (speed goals live here, not in timed tests).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = `${root}packages/cli/bin/lab.mjs`;
const runs = Number(process.env.RUNS ?? 15);
const GOAL_MS = 400;

function time(env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'validate', '--root', root], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, code: r.status, stderr: r.stderr };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], median: q(0.5), p90: q(0.9) };
}

const build = spawnSync(process.execPath, [`${root}packages/cli/build.mjs`], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(build.stderr);

const nodeOnly = stats(Array.from({ length: runs }, () => {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}));

const modes = [
  ['bundle (dist/, what `lab` runs after pnpm install)', {}],
  ['source (tsx, after an edit before a rebuild)', { LAB_FROM_SOURCE: '1' }],
];
console.log(`cold \`lab validate\` of the example lab, ${runs} runs each (node alone: median ${nodeOnly.median.toFixed(0)} ms)`);
for (const [label, env] of modes) {
  const first = time(env);
  if (first.code !== 0) {
    console.log(`  ${label}: validate failed (exit ${first.code}):\n${first.stderr}`);
    continue;
  }
  const s = stats(Array.from({ length: runs }, () => time(env).ms));
  const ratio = s.median / GOAL_MS;
  console.log(
    `  ${label}: median ${s.median.toFixed(0)} ms, min ${s.min.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms` +
      ` — ${(ratio * 100).toFixed(0)}% of the ${GOAL_MS} ms goal${ratio <= 1 ? ' (met)' : ' (NOT met)'}`,
  );
}
