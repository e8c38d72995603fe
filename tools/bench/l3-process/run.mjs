#!/usr/bin/env node
// L3 whole-process benchmark: `node tools/bench/l3-process/run.mjs` (or `pnpm bench l3-process`).
// Figures, not a timed test (adr/0185). `lab check --layer l3` and `ansible-playbook` as whole
// processes, interleaved A B A B, on one guest of an embedded scratch lab. The code lives in
// packages/cli/test/bench/l3-process.ts (it uses the CLI's scratch lab and the L3 bench's
// persona and playbook); this runs it through tsx with the "@lab/source" condition. The timed
// `lab` processes run packages/cli/bin/lab.mjs as a user does (the dist bundle when fresh:
// `pnpm build` first). Needs root (Docker, guest image, apt for ansible).
// Environment: L3P_PAIRS (default 5), L3P_KEEP=1, L3P_COLD=0.
import { register } from 'node:module';

register(new URL('../../../packages/cli/bin/source-condition.mjs', import.meta.url));
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const { main } = await import(new URL('../../../packages/cli/test/bench/l3-process.ts', import.meta.url).href);
process.exitCode = await main();
