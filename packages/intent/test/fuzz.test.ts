import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, isLabError, type LabError } from '@lab/core';
import { loadPersona, loadSite } from '../src/index.js';
import { applyMutations, hostile, mutation, realize, type Realized } from './_mutants.js';

/**
 * Property (adr/0165): whatever happens to lab.yaml, a persona or a mixin — keys deleted,
 * types swapped, values garbled, broken YAML, alias bombs, huge strings and maps, deep
 * nesting, control bytes, symlinks out of the repository or to a device, `..` includes,
 * include chains — loading either succeeds or throws a LabError, never anything else; every
 * diagnostic names file:line:col and carries a hint; nothing printed holds a control byte;
 * and no input costs more than 2 s of CPU.
 *
 * Seeded, so a failure replays; 2,000 inputs a run.
 */

const REPO = resolve(import.meta.dirname, '../../..');
const root = mkdtempSync(join(tmpdir(), 'lab-intent-fuzz-'));
const outside = mkdtempSync(join(tmpdir(), 'lab-intent-fuzz-outside-'));
cpSync(join(REPO, 'lab.yaml'), join(root, 'lab.yaml'));
cpSync(join(REPO, 'personas'), join(root, 'personas'), { recursive: true });
writeFileSync(join(outside, 'age.key'), 'AGE-SECRET-KEY-1CANARYCANARYCANARYCANARYCANARYCANARYCANARYCANARYCANARYCAN\n');
writeFileSync(join(outside, 'mixin.yaml'), 'os:\n  packages: [htop]\n');
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** Files that can be mutated, and what to load to exercise each. */
const TARGETS: readonly (readonly [file: string, load: string])[] = [
  ['lab.yaml', 'site'],
  ['personas/media/persona.yaml', 'media'],
  ['personas/monitoring/persona.yaml', 'monitoring'],
  ['personas/edge/persona.yaml', 'edge'],
  ['personas/identity/persona.yaml', 'identity'],
  ['personas/tinker/persona.yaml', 'tinker'],
  ['personas/_mixins/base.yaml', 'media'],
  ['personas/_mixins/docker.yaml', 'tinker'],
  ['personas/_mixins/node-exporter.yaml', 'edge'],
];
const ORIGINAL = new Map(TARGETS.map(([f]) => [f, readFileSync(join(REPO, f), 'utf8')]));

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Make the extra files a hostile input needs; returns how to remove them. */
function setUp(h: Realized | undefined): () => void {
  if (h === undefined) return () => {};
  const made: string[] = [];
  for (const [path, content] of Object.entries(h.files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    made.push(path);
  }
  for (const [path, target] of Object.entries(h.links)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target.replace('$OUTSIDE', outside), join(root, path));
    made.push(path);
  }
  return () => {
    for (const p of made) rmSync(join(root, p), { force: true });
  };
}

interface Outcome {
  readonly file: string;
  readonly accepted: boolean;
  readonly error?: LabError;
  readonly cpuMs: number;
}

const outcomes: Outcome[] = [];

describe('fuzz: hostile and mutated intent', () => {
  it('never crashes, never hangs, and every diagnostic has file:line:col, a hint and no control byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TARGETS),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.option(hostile, { freq: 3 }),
        async ([file, load], ms, h) => {
          const original = ORIGINAL.get(file) ?? '';
          // A hostile input is applied alone to the valid file, so its class is what is tested.
          const real = h === null ? undefined : realize(original, file, h);
          writeFileSync(join(root, file), real?.text ?? applyMutations(original, ms));
          const tearDown = setUp(real);
          const t0 = cpuMs();
          const w0 = performance.now();
          let error: unknown;
          try {
            if (load === 'site') await loadSite(root);
            else await loadPersona(root, load);
          } catch (e) {
            error = e;
          } finally {
            tearDown();
            writeFileSync(join(root, file), original);
          }
          const spent = cpuMs() - t0;
          // CPU time, so a loaded machine does not fail the test; wall time only catches a hang.
          expect(spent, `${h?.kind ?? ms[0]?.kind} on ${file}`).toBeLessThan(2_000);
          expect(performance.now() - w0).toBeLessThan(60_000);
          if (error === undefined) {
            outcomes.push({ file, accepted: true, cpuMs: spent });
            return;
          }
          if (!isLabError(error)) throw error;
          outcomes.push({ file, accepted: false, error, cpuMs: spent });
          expect(error.code).toMatch(/^LAB_INTENT_(INVALID|NOT_FOUND)$/);
          if (error.code === 'LAB_INTENT_NOT_FOUND') return;
          expect(error.diagnostics.length).toBeGreaterThan(0);
          for (const d of error.diagnostics) {
            const shown = formatDiagnostic(d);
            expect(d.source, shown).toBeDefined();
            const s = d.source!;
            expect(s.file.startsWith('/'), s.file).toBe(false);
            expect(s.line, shown).toBeGreaterThanOrEqual(1);
            expect(s.column, shown).toBeGreaterThanOrEqual(1);
            expect(d.hint, shown).toBeTruthy();
            expect(shown).not.toMatch(CONTROL);
            expect(shown).not.toContain('[object Object]');
            expect(shown).not.toMatch(/got\s*$|got \(|got ,/m);
            expect(shown).not.toContain('undefined');
          }
          expect(`${error.summary} ${error.hint ?? ''}`).not.toMatch(CONTROL);
        },
      ),
      { numRuns: 2_000, seed: Number(process.env['LAB_FUZZ_SEED'] ?? 20261208), endOnFailure: true },
    );
    const rejected = outcomes.filter((o) => !o.accepted).length;
    // Most inputs are invalid by construction: a property that never fails would test nothing.
    expect(rejected).toBeGreaterThan(1_000);
    if (process.env['LAB_FUZZ_REPORT'] === '1') {
      const cpu = outcomes.map((o) => o.cpuMs).sort((a, b) => a - b);
      process.stderr.write(`fuzz: ${outcomes.length} inputs, ${rejected} rejected, cpu p50 ${cpu[Math.floor(cpu.length / 2)]?.toFixed(1)} ms, max ${cpu.at(-1)?.toFixed(1)} ms\n`);
    }
  }, 600_000);
});
