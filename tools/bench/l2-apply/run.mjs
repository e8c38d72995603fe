#!/usr/bin/env node
// L2 apply benchmark: `node tools/bench/l2-apply/run.mjs` (or `pnpm bench l2-apply`).
// Creates the five example personas on the simulator with realistic task times, one VM at a
// time and then with lab.yaml's default parallelism, and prints both (adr/0160).
// The code lives in packages/l2-vm/test/bench/apply-bench.ts.
import { register } from 'node:module';

register(new URL('../../../packages/cli/bin/source-condition.mjs', import.meta.url));
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const { main } = await import(new URL('../../../packages/l2-vm/test/bench/apply-bench.ts', import.meta.url).href);
process.exitCode = await main();
