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
    // Vitest leaves one core free by default: one worker on a 2-core machine. The slow files wait
    // on guests (boots, apt, restic) far more than they compute, so two run side by side.
    maxWorkers: 2,
    // CI also writes a JSON report; .ci/run prints the plain `N passed, N failed` line from it.
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: '.lab/test-report.json' }]] : ['default'],
  },
});
