import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { loadPersona } from '../src/index.js';

/**
 * Property: whatever happens to a persona or mixin file — keys deleted, types swapped,
 * values garbled, unknown keys, wrong units, broken YAML — loading either succeeds or throws
 * the one LabError LAB_INTENT_INVALID, and every diagnostic says file:line:col and path.
 */

const REPO = resolve(import.meta.dirname, '../../..');
const root = mkdtempSync(join(tmpdir(), 'lab-intent-fuzz-'));
cpSync(join(REPO, 'lab.yaml'), join(root, 'lab.yaml'));
cpSync(join(REPO, 'personas'), join(root, 'personas'), { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Files that can be mutated, and the persona to load to exercise each. */
const TARGETS: readonly (readonly [file: string, persona: string])[] = [
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

type Seeds = readonly number[];
type Mutation =
  | { readonly kind: 'delete'; readonly seeds: Seeds }
  | { readonly kind: 'swap'; readonly seeds: Seeds; readonly value: unknown }
  | { readonly kind: 'garble'; readonly seeds: Seeds; readonly text: string }
  | { readonly kind: 'unknown'; readonly seeds: Seeds; readonly key: string; readonly value: unknown }
  | { readonly kind: 'units'; readonly seeds: Seeds; readonly value: string }
  | { readonly kind: 'text'; readonly at: number; readonly insert: string; readonly remove: number }
  | { readonly kind: 'indent'; readonly line: number; readonly by: number };

const seeds = fc.array(fc.nat(), { maxLength: 7 });
const anyValue = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxKeys: 3 }),
  fc.constantFrom({ secret: 'x' }, { secret: '../../etc' }, { $remove: 'htop' }, '_mixins/base.yaml', '../lab.yaml', '/etc/passwd', 'debian-12@nope', '0644'),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), seeds }),
  fc.record({ kind: fc.constant('swap' as const), seeds, value: anyValue }),
  fc.record({ kind: fc.constant('garble' as const), seeds, text: fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 8 })) }),
  fc.record({
    kind: fc.constant('unknown' as const),
    seeds,
    key: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', '$remove', '<<', 'include', 'memroy', 'name', 'lifecycle')),
    value: anyValue,
  }),
  fc.record({ kind: fc.constant('units' as const), seeds, value: fc.constantFrom('lots', '8GB', '1.5', '-1G', '5 minutes', '7x', '', '1e9', '99999999999P', '0') }),
  fc.record({ kind: fc.constant('text' as const), at: fc.nat(), insert: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(':', '- ', '{', ']', '\t', '"', '&a', '*a', '!!binary ', '? ', '\n  ')), remove: fc.nat({ max: 6 }) }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
);

/** Walk to a node chosen by the seeds; returns its parent collection and key. */
function pick(doc: Document, s: Seeds): { parent: YamlNode; key: number } | undefined {
  let node: unknown = doc.contents;
  let found: { parent: YamlNode; key: number } | undefined;
  for (const seed of s) {
    if (isMap(node) && node.items.length > 0) {
      const key = seed % node.items.length;
      found = { parent: node, key };
      node = node.items[key]?.value;
    } else if (isSeq(node) && node.items.length > 0) {
      const key = seed % node.items.length;
      found = { parent: node, key };
      node = node.items[key];
    } else break;
  }
  return found;
}

function applyDoc(doc: Document, m: Mutation): void {
  if (m.kind === 'text' || m.kind === 'indent') return;
  if (m.kind === 'unknown') {
    const target = pick(doc, m.seeds);
    let map: unknown = target === undefined ? doc.contents : isMap(target.parent) ? target.parent.items[target.key]?.value : target.parent;
    if (!isMap(map)) map = doc.contents;
    if (isMap(map)) map.add(doc.createPair(m.key, m.value));
    return;
  }
  const target = pick(doc, m.seeds);
  if (target === undefined) return;
  const { parent, key } = target;
  const set = (value: unknown): void => {
    if (isMap(parent)) {
      const pair = parent.items[key];
      if (pair) pair.value = doc.createNode(value);
    } else if (isSeq(parent)) parent.items[key] = doc.createNode(value);
  };
  const current = isMap(parent) ? parent.items[key]?.value : isSeq(parent) ? parent.items[key] : undefined;
  switch (m.kind) {
    case 'delete':
      if (isMap(parent) || isSeq(parent)) parent.items.splice(key, 1);
      break;
    case 'swap':
      set(m.value);
      break;
    case 'garble':
      set(isScalar(current) && typeof current.value === 'string' ? `${current.value.slice(0, 3)}${m.text}` : m.text);
      break;
    case 'units':
      set(m.value);
      break;
  }
}

function applyText(text: string, m: Mutation): string {
  if (m.kind === 'text') {
    const at = m.at % (text.length + 1);
    return text.slice(0, at) + m.insert + text.slice(at + m.remove);
  }
  if (m.kind === 'indent') {
    const lines = text.split('\n');
    const i = m.line % lines.length;
    const line = lines[i] ?? '';
    lines[i] = m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), '');
    return lines.join('\n');
  }
  return text;
}

/** Structural mutations through the YAML API (one parse), then text-level ones. */
function mutate(text: string, ms: readonly Mutation[]): string {
  let out = text;
  if (ms.some((m) => m.kind !== 'text' && m.kind !== 'indent')) {
    try {
      const doc = parseDocument(text);
      for (const m of ms) applyDoc(doc, m);
      out = doc.toString();
    } catch {
      // The harness could not express these mutations through the YAML API; text ones still apply.
    }
  }
  for (const m of ms) out = applyText(out, m);
  return out;
}

const KNOWN_FILES = new Set(['lab.yaml', ...ORIGINAL.keys()]);

describe('fuzz: mutated intent never crashes the loader', () => {
  it('throws only LAB_INTENT_INVALID, with file:line:col and a path on every diagnostic', async () => {
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TARGETS), fc.array(mutation, { minLength: 1, maxLength: 3 }), async ([file, name], ms) => {
        const original = ORIGINAL.get(file) ?? '';
        writeFileSync(join(root, file), mutate(original, ms));
        try {
          await loadPersona(root, name);
        } catch (e) {
          failures++;
          if (!isLabError(e)) throw e;
          expect(e.code).toBe('LAB_INTENT_INVALID');
          expect(e.diagnostics.length).toBeGreaterThan(0);
          for (const d of e.diagnostics) {
            expect(d.source, d.summary).toBeDefined();
            const s = d.source!;
            expect(s.file.startsWith('/'), s.file).toBe(false);
            expect(KNOWN_FILES.has(s.file) || s.file.startsWith('personas/'), s.file).toBe(true);
            expect(s.line).toBeGreaterThanOrEqual(1);
            expect(s.column).toBeGreaterThanOrEqual(1);
            expect(typeof d.path).toBe('string');
            expect(d.summary.length).toBeGreaterThan(0);
          }
        } finally {
          writeFileSync(join(root, file), original);
        }
      }),
      { numRuns: 1000 },
    );
    // Most mutations must be caught; a property that never fails would test nothing.
    expect(failures).toBeGreaterThan(300);
  }, 60_000);
});
