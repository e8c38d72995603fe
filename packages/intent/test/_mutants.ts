import { posix } from 'node:path';
import fc from 'fast-check';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';

/**
 * The mutation fuzzer's vocabulary: small edits of a valid file (through the YAML API and as
 * text) and hostile inputs (resource exhaustion, control bytes, files outside the
 * repository). Each hostile input is data, so fast-check can shrink and replay it; `realize`
 * turns it into the edit of the target file plus the extra files and links it needs.
 */

type Seeds = readonly number[];
export type Mutation =
  | { readonly kind: 'delete'; readonly seeds: Seeds }
  | { readonly kind: 'swap'; readonly seeds: Seeds; readonly value: unknown }
  | { readonly kind: 'garble'; readonly seeds: Seeds; readonly text: string }
  | { readonly kind: 'unknown'; readonly seeds: Seeds; readonly key: string; readonly value: unknown }
  | { readonly kind: 'units'; readonly seeds: Seeds; readonly value: string }
  | { readonly kind: 'text'; readonly at: number; readonly insert: string; readonly remove: number }
  | { readonly kind: 'indent'; readonly line: number; readonly by: number };

export type Hostile =
  | { readonly kind: 'aliasBomb'; readonly levels: number; readonly width: number }
  | { readonly kind: 'bigString'; readonly chars: number }
  | { readonly kind: 'manyKeys'; readonly keys: number }
  | { readonly kind: 'deep'; readonly levels: number; readonly flow: boolean }
  | { readonly kind: 'bigFile'; readonly bytes: number }
  | { readonly kind: 'control'; readonly at: number; readonly char: string; readonly escaped: boolean }
  | { readonly kind: 'unclosed'; readonly line: number; readonly bracket: '[' | '{' }
  | { readonly kind: 'includeLink'; readonly target: 'device' | 'outside' | 'loop' | 'dir' }
  | { readonly kind: 'includeEscape'; readonly path: string }
  | { readonly kind: 'includeChain'; readonly length: number }
  | { readonly kind: 'includeMany'; readonly count: number }
  | { readonly kind: 'sourceLink'; readonly field: 'os' | 'compose' | 'key' };

const seeds = fc.array(fc.nat(), { maxLength: 7 });
const anyValue = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxKeys: 3 }),
  fc.constantFrom({ secret: 'x' }, { secret: '../../etc' }, { $remove: 'htop' }, '_mixins/base.yaml', '../lab.yaml', '/etc/passwd', 'debian-12@nope', '0644', '', ' ', [], {}, [[]], [{}]),
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
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
  fc.record({ kind: fc.constant('text' as const), at: fc.nat(), insert: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(':', '- ', '{', ']', '\t', '"', '&a', '*a', '!!binary ', '? ', '\n  ', '[', '\0', '\u001b[2J')), remove: fc.nat({ max: 6 }) }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
);

export const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  fc.record({ kind: fc.constant('aliasBomb' as const), levels: fc.integer({ min: 2, max: 12 }), width: fc.integer({ min: 2, max: 12 }) }),
  fc.record({ kind: fc.constant('bigString' as const), chars: fc.integer({ min: 1_000, max: 400_000 }) }),
  fc.record({ kind: fc.constant('manyKeys' as const), keys: fc.integer({ min: 100, max: 12_000 }) }),
  fc.record({ kind: fc.constant('deep' as const), levels: fc.integer({ min: 5, max: 400 }), flow: fc.boolean() }),
  fc.record({ kind: fc.constant('bigFile' as const), bytes: fc.integer({ min: 100_000, max: 2_000_000 }) }),
  fc.record({ kind: fc.constant('control' as const), at: fc.nat(), char: fc.constantFrom('\0', '\u0007', '\u001b', '\u007f', '\u009b', '\u202e', '\u2028', '\r', '\b'), escaped: fc.boolean() }),
  fc.record({ kind: fc.constant('unclosed' as const), line: fc.nat(), bracket: fc.constantFrom('[' as const, '{' as const) }),
  fc.record({ kind: fc.constant('includeLink' as const), target: fc.constantFrom('device' as const, 'outside' as const, 'loop' as const, 'dir' as const) }),
  fc.record({ kind: fc.constant('includeEscape' as const), path: fc.constantFrom('../../etc/passwd.yaml', '../../../tmp/x.yaml', '/etc/x.yaml', '_mixins/../../lab.yaml', '_mixins/../../../x.yaml', './../lab.yaml') }),
  fc.record({ kind: fc.constant('includeChain' as const), length: fc.integer({ min: 2, max: 14 }) }),
  fc.record({ kind: fc.constant('includeMany' as const), count: fc.integer({ min: 2, max: 60 }) }),
  fc.record({ kind: fc.constant('sourceLink' as const), field: fc.constantFrom('os' as const, 'compose' as const, 'key' as const) }),
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

/** Add `include: [entry]` to a persona or mixin text, keeping the rest. */
function withInclude(text: string, entry: string): string {
  if (/^include:\s*$/m.test(text)) return text.replace(/^include:\s*$/m, `include:\n  - ${JSON.stringify(entry)}`);
  if (/^include:\s*\[/m.test(text)) return text.replace(/^include:\s*\[/m, `include: [${JSON.stringify(entry)}, `);
  return `${text.trimEnd()}\ninclude: [${JSON.stringify(entry)}]\n`;
}

function edit(text: string, f: (doc: Document) => void): string {
  try {
    const doc = parseDocument(text);
    f(doc);
    return doc.toString();
  } catch {
    return text;
  }
}

/** What a hostile input needs: the new text of the target, extra files and symlinks (lab-root-relative). */
export interface Realized {
  readonly text: string;
  readonly files: Readonly<Record<string, string>>;
  readonly links: Readonly<Record<string, string>>;
}

export function realize(text: string, target: string, h: Hostile): Realized {
  const dir = posix.dirname(target);
  switch (h.kind) {
    case 'aliasBomb': {
      let defs = `a0: &a0 "${'x'.repeat(64)}"\n`;
      for (let i = 1; i < h.levels; i++) defs += `a${i}: &a${i} [${Array.from({ length: h.width }, () => `*a${i - 1}`).join(', ')}]\n`;
      return { text: `${defs}${text}\ndescription2: *a${h.levels - 1}\n`, files: {}, links: {} };
    }
    case 'bigString':
      return { text: edit(text, (d) => d.set('description', 'y'.repeat(h.chars))), files: {}, links: {} };
    case 'manyKeys':
      return { text: `${text.trimEnd()}\nbulk:\n${Array.from({ length: h.keys }, (_, i) => `  k${i}: ${i}`).join('\n')}\n`, files: {}, links: {} };
    case 'deep':
      return {
        text: h.flow
          ? `${text.trimEnd()}\ndeep: ${'['.repeat(h.levels)}${']'.repeat(h.levels)}\n`
          : `${text.trimEnd()}\ndeep:\n${Array.from({ length: h.levels }, (_, i) => `${' '.repeat(2 * (i + 1))}k:`).join('\n')} 1\n`,
        files: {},
        links: {},
      };
    case 'bigFile':
      return { text: `${text.trimEnd()}\n${`# ${'z'.repeat(76)}\n`.repeat(Math.ceil(h.bytes / 80))}`, files: {}, links: {} };
    case 'control': {
      if (h.escaped) {
        const esc = `\\u${h.char.codePointAt(0)!.toString(16).padStart(4, '0')}`;
        return { text: `${text.trimEnd()}\n"bad${esc}key": "v${esc}"\n`, files: {}, links: {} };
      }
      const at = h.at % (text.length + 1);
      return { text: text.slice(0, at) + h.char + text.slice(at), files: {}, links: {} };
    }
    case 'unclosed': {
      const lines = text.split('\n');
      const i = h.line % lines.length;
      lines.splice(i, 0, `zz: ${h.bracket}a, b`);
      return { text: lines.join('\n'), files: {}, links: {} };
    }
    case 'includeLink': {
      const link = 'personas/_mixins/evil.yaml';
      const to = { device: '/dev/zero', outside: '$OUTSIDE/mixin.yaml', loop: 'evil.yaml', dir: '.' }[h.target];
      return { text: withInclude(text, '_mixins/evil.yaml'), files: {}, links: { [link]: to } };
    }
    case 'includeEscape':
      return { text: withInclude(text, h.path), files: {}, links: {} };
    case 'includeChain': {
      const files: Record<string, string> = {};
      for (let i = 0; i < h.length; i++) files[`personas/_mixins/chain${i}.yaml`] = i + 1 < h.length ? `include: [_mixins/chain${i + 1}.yaml]\nos:\n  packages: [p${i}]\n` : 'os:\n  packages: [last]\n';
      return { text: withInclude(text, '_mixins/chain0.yaml'), files, links: {} };
    }
    case 'includeMany': {
      const files: Record<string, string> = {};
      let t = text;
      for (let i = 0; i < h.count; i++) {
        files[`personas/_mixins/many${i}.yaml`] = `os:\n  packages: [m${i}]\n`;
        t = withInclude(t, `_mixins/many${i}.yaml`);
      }
      return { text: t, files, links: {} };
    }
    case 'sourceLink': {
      const link = `${dir}/leak.conf`;
      const ref = 'leak.conf';
      const add = (d: Document, path: string[], item: unknown): void => {
        const list = d.getIn(path);
        if (isSeq(list)) list.add(d.createNode(item));
        else d.setIn(path, d.createNode([item]));
      };
      const text2 = edit(text, (d) => {
        if (h.field === 'os') add(d, ['os', 'files'], { path: '/etc/leak.conf', source: ref });
        else if (h.field === 'compose') add(d, ['workloads', 'stacks'], { name: 'leak', compose: ref });
        else add(d, ['os', 'apt', 'repositories'], { name: 'leak', uris: ['https://example.org/debian'], suites: ['bookworm'], components: ['main'], signedBy: { file: ref } });
      });
      return { text: text2, files: {}, links: { [link]: '$OUTSIDE/age.key' } };
    }
  }
}

/** Structural mutations through the YAML API (one parse), then text-level ones, then the hostile input. */
export function applyMutations(text: string, ms: readonly Mutation[]): string {
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
