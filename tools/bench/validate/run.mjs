#!/usr/bin/env node
// Benchmark: cold `lab validate` of every persona of the example lab (goal ≤ 400 ms on an idle
// machine). Each run is a new node process, as an operator or a CI step would start it, and is
// interleaved with a bare `node -e 0` so both see the same load (adr/0185). Prints wall and CPU
// time (user + system) per side and their ratios; it asserts nothing (speed goals live here,
// not in timed tests).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { load, median, runTimed } from '../_process.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = `${root}packages/cli/bin/lab.mjs`;
const runs = Number(process.env.RUNS ?? 15);
const GOAL_MS = 400;

const build = spawnSync(process.execPath, [`${root}packages/cli/build.mjs`], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(build.stderr);

const loadStart = load();
const modes = [
  ['bundle (dist/, what `lab` runs after pnpm install)', {}],
  ['source (tsx, after an edit before a rebuild)', { LAB_FROM_SOURCE: '1' }],
];
console.log(`cold \`lab validate\` of the example lab, ${runs} runs each, interleaved with \`node -e 0\``);
for (const [label, env] of modes) {
  const first = runTimed(process.execPath, [bin, 'validate', '--root', root], { env: { ...process.env, ...env } });
  if (first.code !== 0) {
    console.log(`  ${label}: validate failed (exit ${first.code}):\n${first.stderr}`);
    continue;
  }
  const lab = [];
  const node = [];
  for (let i = 0; i < runs; i++) {
    node.push(runTimed(process.execPath, ['-e', '0']));
    lab.push(runTimed(process.execPath, [bin, 'validate', '--root', root], { env: { ...process.env, ...env } }));
  }
  const wall = median(lab.map((r) => r.ms));
  const cpu = median(lab.map((r) => r.cpuMs));
  const nodeWall = median(node.map((r) => r.ms));
  const nodeCpu = median(node.map((r) => r.cpuMs));
  console.log(`  ${label}:`);
  console.log(`    wall  median ${wall.toFixed(0)} ms, min ${Math.min(...lab.map((r) => r.ms)).toFixed(0)} ms   (node -e 0: median ${nodeWall.toFixed(0)} ms; ratio ${(wall / nodeWall).toFixed(1)} x)`);
  console.log(`    CPU   median ${cpu.toFixed(0)} ms, min ${Math.min(...lab.map((r) => r.cpuMs)).toFixed(0)} ms   (node -e 0: median ${nodeCpu.toFixed(0)} ms; ratio ${(cpu / Math.max(nodeCpu, 1)).toFixed(1)} x)`);
  console.log(`    goal ${GOAL_MS} ms wall on an idle machine: ${wall <= GOAL_MS ? 'met in this run' : `not met in this run (${(wall / GOAL_MS * 100).toFixed(0)}%)`}; CPU ${(cpu / GOAL_MS * 100).toFixed(0)}% of it`);
}
console.log(`  load average (1 5 15 min): start ${loadStart}, end ${load()}; ${cpus().length} CPU cores`);
