import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LabError, Secret, redact } from '../src/index.js';

const CANARY = 'canary-7f3a9c-do-not-print';

describe('Secret', () => {
  it('prints *** in every form and reveals only on request', () => {
    const s = new Secret(CANARY);
    const holder = { token: s, nested: [s, { deep: s }] };
    const renderings = [
      String(s),
      `${s}`,
      `x${s as unknown as string}`,
      JSON.stringify(holder),
      inspect(holder, { depth: 10, showHidden: true }),
      Object.keys(s).join(','),
      Object.getOwnPropertyNames(s).join(','),
    ];
    for (const r of renderings) expect(r).not.toContain(CANARY);
    expect(JSON.stringify(holder)).toContain('***');
    expect(s.reveal()).toBe(CANARY);
  });

  it('does not leak through a LabError carrying it', () => {
    const s = new Secret(CANARY);
    const e = new LabError({ code: 'LAB_X', summary: `token ${s} rejected`, detail: String(s) });
    expect(e.format()).not.toContain(CANARY);
    expect(JSON.stringify(e)).not.toContain(CANARY);
  });

  it('is immutable and maps to another secret', () => {
    const s = new Secret('abc');
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.map((v) => v.toUpperCase()).reveal()).toBe('ABC');
  });

  it('redacts revealed values from remote output', () => {
    expect(redact(`login with ${CANARY} ok`, [new Secret(CANARY)])).toBe('login with *** ok');
  });
});
