import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../adr/', import.meta.url));

describe('adr/README.md', () => {
  it('indexes every ADR, and every ADR has a unique number', () => {
    const files = readdirSync(dir).filter((f) => /^\d{4}-.+\.md$/.test(f));
    const index = readFileSync(`${dir}README.md`, 'utf8');
    const missing = files.filter((f) => !index.includes(`(${f})`));
    expect(missing, 'add them to the index table in adr/README.md').toEqual([]);
    const numbers = files.map((f) => f.slice(0, 4));
    expect(numbers.filter((n, i) => numbers.indexOf(n) !== i)).toEqual([]);
  });
});
