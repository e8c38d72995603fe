import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FACTS } from '../src/facts/registry.js';

/** Table-driven: raw output of each fact's command on a guest → the value the parser yields. */
interface FactCase {
  readonly name: string;
  readonly fact?: string;
  readonly arg?: string;
  readonly stdout: string;
  readonly exitCode: number;
  readonly expected: unknown;
}

const dir = join(import.meta.dirname, 'fixtures/facts');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('fact parsers (fixtures/facts)', () => {
  it('has fixtures for every fact', () => {
    const covered = new Set<string>();
    for (const file of files) {
      const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { fact?: string; cases: FactCase[] };
      for (const c of data.cases) covered.add(c.fact ?? data.fact!);
    }
    expect([...covered].sort()).toEqual(Object.keys(FACTS).sort());
  });

  for (const file of files) {
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { fact?: string; cases: FactCase[] };
    describe(file, () => {
      for (const c of data.cases) {
        const name = c.fact ?? data.fact!;
        it(`${name}: ${c.name}`, () => {
          const fact = FACTS[name]!(c.arg);
          expect(fact.parse(c.stdout, c.exitCode)).toEqual(c.expected);
        });
      }
    });
  }
});
