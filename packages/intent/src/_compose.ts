import { posix } from 'node:path';
import type { Diagnostic, SourceLocation } from '@lab/core';
import { mergeRule, type KeyedRule } from './merge-rules.js';
import type { TEntry, TMap, TNode, TSeq } from './_tree.js';
import { joinPath } from './_tree.js';

/**
 * Composition: a persona and the mixins it includes become one tree. Pure: file loading is
 * done by the caller (see _load.ts), which hands over the parsed layers in merge order.
 * The rules are in adr/0011-composition-and-merge-rules.md and MERGE_RULES.
 */

/** One file's tree with where it lives, in merge order (mixins first, the persona last). */
export interface Layer {
  readonly file: string;
  readonly tree: TMap;
}

/** Fields holding a path relative to the file that declares them; rewritten to lab-root-relative. */
export const PATH_FIELDS: ReadonlySet<string> = new Set([
  'os.files[].source',
  'os.apt.repositories[].signedBy.file',
  'workloads.stacks[].compose',
  'workloads.stacks[].files[].source',
]);

/** Keys a layer contributes that are not merged: `include` is consumed; a mixin's description is its own. */
const NOT_MERGED_IN_MIXIN = new Set(['include', 'description']);

interface Sink {
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}

function problem(severity: 'error' | 'warning', source: SourceLocation, path: string, summary: string, hint?: string): Diagnostic {
  return {
    severity,
    code: severity === 'error' ? 'LAB_INTENT_INVALID' : 'LAB_INTENT_WARNING',
    summary,
    source,
    path,
    ...(hint === undefined ? {} : { hint }),
  };
}

export function compose(layers: readonly Layer[]): { tree: TMap; errors: Diagnostic[]; warnings: Diagnostic[] } {
  const sink: Sink = { errors: [], warnings: [] };
  let acc: TNode | undefined;
  layers.forEach((layer, i) => {
    const isPersona = i === layers.length - 1;
    const entries = new Map<string, TEntry>();
    for (const [k, e] of layer.tree.entries) {
      if (k === 'include' || (!isPersona && NOT_MERGED_IN_MIXIN.has(k))) continue;
      entries.set(k, { keyOrigin: e.keyOrigin, value: resolvePaths(e.value, k, posix.dirname(layer.file)) });
    }
    acc = merge(acc, { ...layer.tree, entries }, '', '', sink);
  });
  const tree: TMap = acc?.kind === 'map' ? acc : { kind: 'map', entries: new Map(), origin: layers.at(-1)?.tree.origin ?? { file: '', line: 1, column: 1 } };
  return { tree, errors: sink.errors, warnings: sink.warnings };
}

/** Every schema path that leads to a path field; other subtrees are returned untouched. */
const PATH_PREFIXES: ReadonlySet<string> = new Set(
  [...PATH_FIELDS].flatMap((f) => f.split(/(?=\.|\[\])/).map((_, i, parts) => parts.slice(0, i + 1).join(''))),
);

function resolvePaths(node: TNode, schemaPath: string, dir: string): TNode {
  if (!PATH_PREFIXES.has(schemaPath)) return node;
  if (node.kind === 'scalar') {
    if (!PATH_FIELDS.has(schemaPath) || typeof node.value !== 'string' || node.value.startsWith('/')) return node;
    return { ...node, value: `${dir}/${node.value.replace(/^(?:\.\/)+/, '')}` };
  }
  if (node.kind === 'seq') return { ...node, items: node.items.map((it) => resolvePaths(it, `${schemaPath}[]`, dir)) };
  const entries = new Map<string, TEntry>();
  for (const [k, e] of node.entries) entries.set(k, { keyOrigin: e.keyOrigin, value: resolvePaths(e.value, `${schemaPath}.${k}`, dir) });
  return { ...node, entries };
}

function isNull(node: TNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

const SHAPE = { map: 'a map', seq: 'a list', scalar: 'a single value' } as const;

function merge(base: TNode | undefined, over: TNode, schemaPath: string, path: string, sink: Sink): TNode {
  // A list in one file and a map in another is a mistake in one of them, never an override:
  // without this, the later file silently discarded the earlier one's value of the wrong shape.
  if (base !== undefined && base.kind !== 'scalar' && over.kind !== 'scalar' && base.kind !== over.kind) {
    const o = base.origin;
    sink.errors.push(
      problem('error', over.origin, path, `${SHAPE[over.kind]} here, but ${SHAPE[base.kind]} in ${o.file}:${o.line}:${o.column}`, `write ${path} as the same shape in both files (see ${path.replace(/\[\d+\]/g, '[]')} in docs/persona-reference.md)`),
    );
  }
  if (over.kind === 'map') {
    const entries = new Map<string, TEntry>(base?.kind === 'map' ? base.entries : []);
    for (const [k, e] of over.entries) {
      const inherited = entries.get(k);
      if (isNull(e.value) && inherited !== undefined) {
        entries.delete(k);
        continue;
      }
      const child = schemaPath === '' ? k : `${schemaPath}.${k}`;
      entries.set(k, { keyOrigin: e.keyOrigin, value: merge(inherited?.value, e.value, child, joinPath(path, k), sink) });
    }
    return base?.kind === 'map' && base.index !== undefined ? { ...over, entries, indexIn: positions(base, over) } : { ...over, entries };
  }
  if (over.kind === 'seq') return mergeSeq(base?.kind === 'seq' ? base : undefined, over, schemaPath, path, sink);
  return over;
}

/** Where a merged list item sits in each file that contributed to it, for error paths. */
function positions(base: TNode, over: TNode): Map<string, number> {
  const out = new Map(base.indexIn ?? (base.index === undefined ? [] : [[base.origin.file, base.index]]));
  if (over.indexIn !== undefined) for (const [f, i] of over.indexIn) out.set(f, i);
  else if (over.index !== undefined) out.set(over.origin.file, over.index);
  return out;
}

function removeTarget(node: TNode): TNode | undefined {
  if (node.kind !== 'map') return undefined;
  return node.entries.get('$remove')?.value;
}

function scalarKey(node: TNode | undefined): string | undefined {
  if (node === undefined || node.kind !== 'scalar' || node.value === null) return undefined;
  return String(node.value);
}

/** Identity of an item of a keyed list; undefined when the item lacks its key (the schema reports it). */
function keyOf(node: TNode, rule: KeyedRule): string | undefined {
  if (node.kind === 'scalar') return rule.shorthand === true || rule.key.length === 1 ? scalarKey(node) : undefined;
  if (node.kind !== 'map') return undefined;
  const parts: string[] = [];
  for (const field of rule.key) {
    const alternatives = field.split('|');
    const value = alternatives.map((f) => scalarKey(node.entries.get(f)?.value)).find((v) => v !== undefined);
    if (value === undefined) return undefined;
    parts.push(value);
  }
  return parts.join('\u0000');
}

function mergeSeq(base: TSeq | undefined, over: TSeq, schemaPath: string, path: string, sink: Sink): TSeq {
  const rule = mergeRule(schemaPath);
  const itemPath = `${schemaPath}[]`;
  if (rule === undefined) {
    const items: TNode[] = [];
    over.items.forEach((it, i) => {
      if (removeTarget(it) !== undefined) {
        sink.errors.push(problem('error', it.origin, joinPath(path, it.index ?? i), '$remove is not available here', 'this list is replaced as a whole by the including file; write the full list instead'));
        return;
      }
      items.push(merge(undefined, it, itemPath, joinPath(path, it.index ?? i), sink));
    });
    return { ...over, items };
  }
  const slots: (TNode | undefined)[] = [...(base?.items ?? [])];
  const where = new Map<string, number>();
  const identify = (n: TNode): string | undefined => (rule.kind === 'set' ? (n.kind === 'scalar' ? JSON.stringify(n.value) : undefined) : keyOf(n, rule));
  slots.forEach((n, i) => {
    const k = n === undefined ? undefined : identify(n);
    if (k !== undefined) where.set(k, i);
  });
  const seen = new Set<string>();
  over.items.forEach((item, i) => {
    const itemShown = joinPath(path, item.index ?? i);
    const target = removeTarget(item);
    if (target !== undefined) {
      if (item.kind === 'map' && item.entries.size > 1) {
        sink.errors.push(problem('error', item.origin, itemShown, '$remove must stand alone in its item', 'write - $remove: <key> as its own list item'));
        return;
      }
      const k = rule.kind === 'set' ? (target.kind === 'scalar' ? JSON.stringify(target.value) : undefined) : keyOf(target, rule);
      const at = k === undefined ? undefined : where.get(k);
      if (k === undefined) {
        sink.errors.push(problem('error', target.origin, joinPath(itemShown, '$remove'), '$remove does not name an item', rule.kind === 'keyed' && rule.key.length > 1 ? `give ${rule.key.join(', ')}` : 'give the key of the inherited item'));
      } else if (at === undefined) {
        sink.warnings.push(problem('warning', target.origin, joinPath(itemShown, '$remove'), `$remove: nothing inherited matches ${displayKey(k)}`, 'remove this line, or check the included mixins'));
      } else if (rule.kind === 'keyed' && rule.removeAs && rule.key.length === 1) {
        // The item stays, turned into its removal (`{ name: x, state: absent }` for packages).
        const origin = target.origin;
        const scalar = (value: string): TNode => ({ kind: 'scalar', value, origin });
        const entries = new Map([[rule.key[0]!, { keyOrigin: origin, value: scalar(k) }], ...Object.entries(rule.removeAs).map(([f, v]) => [f, { keyOrigin: origin, value: scalar(v) }] as const)]);
        slots[at] = { kind: 'map', origin, entries, ...(slots[at]?.indexIn ? { indexIn: slots[at]!.indexIn } : slots[at]?.index !== undefined ? { index: slots[at]!.index } : {}) };
      } else {
        slots[at] = undefined;
        where.delete(k);
      }
      return;
    }
    const k = identify(item);
    if (k === undefined) {
      slots.push(merge(undefined, item, itemPath, itemShown, sink));
      return;
    }
    if (seen.has(k)) {
      sink.errors.push(problem('error', item.origin, itemShown, `duplicate item ${displayKey(k)}`, 'each item of this list needs a unique key; merge the two items'));
      return;
    }
    seen.add(k);
    const at = where.get(k);
    if (at === undefined) {
      where.set(k, slots.length);
      slots.push(merge(undefined, item, itemPath, itemShown, sink));
    } else {
      const inherited = slots[at];
      // A bare string (package shorthand) carries no fields to merge; the newer item replaces it.
      const mergeable = inherited?.kind === 'map' && item.kind === 'map';
      slots[at] = merge(mergeable ? inherited : undefined, item, itemPath, itemShown, sink);
    }
  });
  return { ...over, items: slots.filter((n): n is TNode => n !== undefined) };
}

function displayKey(k: string): string {
  return k.split('\u0000').map((p) => (p.startsWith('"') ? p : `"${p}"`)).join(' + ');
}

