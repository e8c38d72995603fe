import type { z } from 'zod';
import type { Diagnostic } from '@lab/core';
import { got } from './schema/_leaf.js';
import { suggestion } from './_suggest.js';
import { locate, type TNode } from './_tree.js';

/**
 * zod issues → diagnostics at file:line:col. Messages written by the schema carry their hint
 * after a newline; zod's own wording is replaced for the common cases so every message reads
 * like "expected …, got …".
 */

export interface SchemaParse<T> {
  readonly data?: T;
  readonly diagnostics: Diagnostic[];
}

/** Parse with the schema and convert failures; `knownKeys` feeds the "did you mean" of unknown keys. */
export function parseWithSchema<T>(schema: z.ZodType<T>, tree: TNode, data: unknown): SchemaParse<T> {
  const knownKeys = new Map<string, string[]>();
  const result = schema.safeParse(data, {
    // A process parses a handful of documents: compiling zod's eval fast path for each of the
    // ~80 object shapes costs more than it saves on a cold `lab validate`.
    jitless: true,
    reportInput: true,
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
        if (shape) knownKeys.set(JSON.stringify(iss.path ?? []), Object.keys(shape));
      }
      return undefined;
    },
  });
  if (result.success) return { data: result.data, diagnostics: [] };
  return { diagnostics: dedupe(result.error.issues.flatMap((iss) => toDiagnostics(iss, tree, data, knownKeys))) };
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { parent: unknown; present: boolean } {
  let parent: unknown = undefined;
  let cur: unknown = data;
  for (const p of path) {
    parent = cur;
    if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, p)) {
      return { parent, present: false };
    }
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return { parent, present: true };
}

function split(message: string): { summary: string; hint?: string } {
  const i = message.indexOf('\n');
  return i < 0 ? { summary: message } : { summary: message.slice(0, i), hint: message.slice(i + 1) };
}

function make(tree: TNode, path: readonly PropertyKey[], summary: string, hint: string | undefined, key = false): Diagnostic {
  const where = locate(tree, path, { key });
  return {
    severity: 'error',
    code: 'LAB_INTENT_INVALID',
    summary,
    source: where.source,
    path: where.path,
    hint: hint ?? referenceHint(where.source.file, where.path),
  };
}

/** The fallback fix for a schema message that names none of its own: where the field is documented. */
export function referenceHint(file: string, path: string): string {
  const field = path === '' ? 'the top-level keys' : path.replace(/\[\d+\]/g, '[]');
  return file === 'lab.yaml'
    ? `see ${field} in packages/intent/schemas/site.schema.json (editors with the YAML language server check it as you type)`
    : `see ${field} in docs/persona-reference.md`;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map of key: value',
  array: 'a list',
  record: 'a map of key: value',
};

function toDiagnostics(iss: z.core.$ZodIssue, tree: TNode, data: unknown, knownKeys: Map<string, string[]>): Diagnostic[] {
  const path = iss.path;
  if (iss.code === 'unrecognized_keys') {
    const known = knownKeys.get(JSON.stringify(path)) ?? [];
    return iss.keys.map((key) => {
      const hint = key === '$remove' ? '$remove only works as a list item of a list that merges by key' : suggestion(key, known, 'allowed keys');
      return make(tree, [...path, key], `unknown key "${key}"`, hint, true);
    });
  }
  const { present } = valueAt(data, path);
  if (!present && path.length > 0) {
    const last = path[path.length - 1];
    if (typeof last === 'string') {
      const parent = locate(tree, path.slice(0, -1)).path;
      return [make(tree, path, 'missing required field', `add ${last}: … ${parent === '' ? 'at the top level' : `under ${parent}`}`)];
    }
  }
  if (iss.code === 'invalid_type' && iss.message.startsWith('Invalid input')) {
    const input = (iss as { input?: unknown }).input;
    const expected = TYPE_WORDS[iss.expected] ?? iss.expected;
    const hint = iss.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean') ? `YAML read this as a ${typeof input}; quote it: "${String(input)}"` : undefined;
    return [make(tree, path, `expected ${expected}, got ${got(input)}`, hint)];
  }
  if (iss.code === 'invalid_value' && iss.message.startsWith('Invalid')) {
    const input = (iss as { input?: unknown }).input;
    const values = iss.values.map((v) => String(v));
    return [make(tree, path, `expected ${values.map((v) => JSON.stringify(v)).join(' or ')}, got ${got(input)}`, typeof input === 'string' ? suggestion(input, values, 'allowed values') : undefined)];
  }
  if ((iss.code === 'too_small' || iss.code === 'too_big') && iss.message.startsWith('Too')) {
    const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
    const word = iss.code === 'too_small' ? 'at least' : 'at most';
    const summary = iss.origin === 'array' ? `needs ${word} ${String(bound)} item(s)` : iss.origin === 'string' ? `must be ${word} ${String(bound)} characters long` : `must be ${word} ${String(bound)}`;
    return [make(tree, path, summary, undefined)];
  }
  const { summary, hint } = split(iss.message);
  return [make(tree, path, summary, hint)];
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.source?.file}:${d.source?.line}:${d.source?.column} ${d.path} ${d.summary}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
