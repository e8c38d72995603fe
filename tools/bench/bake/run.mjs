#!/usr/bin/env node
// Baked vs plain template: `node tools/bench/bake/run.mjs` (or `pnpm bench bake`).
// Figures, not a timed test (goal: L3's first converge of a Docker persona on the baked template
// ≤ 10% of the same on the plain one). Needs a Docker engine and the guest image; takes minutes.
import { register } from 'node:module';

register(new URL('../../../packages/cli/bin/source-condition.mjs', import.meta.url));
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const { main } = await import(new URL('./bench.ts', import.meta.url).href);
process.exitCode = await main();
