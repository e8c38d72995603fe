#!/usr/bin/env node
// L3 no-op benchmark: `node tools/bench/l3-noop/run.mjs` (or `pnpm bench l3-noop`).
// Figures, not a timed test. The code lives in packages/l3-os/test/bench/ (it uses that
// package's dependencies and test helpers); this runs it through tsx with the "@lab/source"
// condition, like the lab bin. Needs root (Docker, guest image, apt for ansible).
// Environment: L3_BENCH_GUESTS (parallel guests, default 10), L3_BENCH_RUNS (default 5),
// L3_BENCH_ANSIBLE=0 to skip the Ansible comparison.
import { register } from 'node:module';

register(new URL('../../../packages/cli/bin/source-condition.mjs', import.meta.url));
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
const { main } = await import(new URL('../../../packages/l3-os/test/bench/bench.ts', import.meta.url).href);
process.exitCode = await main();
