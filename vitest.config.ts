import { defineConfig } from 'vitest/config';

// Source-first: workspace packages resolve to src/*.ts through the "@lab/source" export
// condition, so no test needs a build step.
export default defineConfig({
  resolve: { conditions: ['@lab/source'] },
  ssr: { resolve: { conditions: ['@lab/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tools/**/test/**/*.test.ts'],
    setupFiles: ['./tools/test/network-guard.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
