#!/usr/bin/env node
// L2 plan benchmark: `node tools/bench/l2-plan/run.mjs` (or `pnpm bench l2-plan`).
// Plans 100 personas against the simulator with 25 ms latency per API call and prints the call
// count and time (goal ≤ 1 s). The code lives in packages/l2-vm/test/bench/bench.ts.
// Environment: L2_BENCH_PERSONAS (default 100), L2_BENCH_LATENCY_MS (default 25).
import { register } from 'node:module';

register(new URL('../../../packages/cli/bin/source-condition.mjs', import.meta.url));
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const { main } = await import(new URL('../../../packages/l2-vm/test/bench/bench.ts', import.meta.url).href);
process.exitCode = await main();
