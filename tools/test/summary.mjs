#!/usr/bin/env node
// Print the suite's result as one plain line (`Tests: N passed, N failed, N skipped`) from the
// JSON report vitest writes under CI, for tools that read a run's closing line.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.lab/test-report.json';
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
