import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic, SourceLocation } from '@lab/core';
import { kib, LIMITS } from './_limits.js';
import { unclosedFlow } from './_unclosed.js';

/**
 * YAML as a tree whose every node remembers where it was written. Composition builds new
 * trees out of nodes from several files, so after merging each value still points at the
 * file, line and column it came from — that is how an error in a mixin names the mixin.
 */
export type TNode = TMap | TSeq | TScalar;

interface TBase {
  readonly origin: SourceLocation;
  /** Position in the YAML sequence it was written in, for paths that read like the file. */
  index?: number;
  /** A merged list item's position in each file that contributed to it. */
  indexIn?: ReadonlyMap<string, number>;
}

export interface TEntry {
  readonly keyOrigin: SourceLocation;
  readonly value: TNode;
}

export interface TMap extends TBase {
  readonly kind: 'map';
  readonly entries: Map<string, TEntry>;
}

export interface TSeq extends TBase {
  readonly kind: 'seq';
  readonly items: TNode[];
}

export type Scalar = string | number | boolean | null;

export interface TScalar extends TBase {
  readonly kind: 'scalar';
  readonly value: Scalar;
}

const YAML_HINTS: Readonly<Record<string, string>> = {
  DUPLICATE_KEY: 'each key may appear once in a map; merge the two entries',
  BAD_INDENT: 'check the indentation: nested keys are indented further than their parent, with spaces',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'a bracket or quote is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'a key is missing its ": " or a value is indented too far',
  MULTILINE_IMPLICIT_KEY: 'a key is missing its ": " or a value is indented too far',
  UNEXPECTED_TOKEN: 'check the line for a stray character, and quote values that contain ": " or start with "{", "[", "*", "&" or "@"',
  BAD_SCALAR_START: 'quote values that start with "@", "`", "%" or "|"',
};

const MAX_DEPTH = LIMITS.depth;

export interface ParsedFile {
  readonly tree: TNode | undefined;
  readonly diagnostics: Diagnostic[];
  /** Set when the file was not read at all (outside the repository, not a regular file, too large). */
  readonly refused?: { readonly why: string; readonly hint: string };
}

/** Control characters other than tab and newline, which no lab file needs and a terminal must not receive. */
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

function diag(source: SourceLocation, path: string, summary: string, hint?: string): Diagnostic {
  return { severity: 'error', code: 'LAB_INTENT_INVALID', summary, source, path, ...(hint === undefined ? {} : { hint }) };
}

/**
 * Parse one YAML file. Syntax errors all become diagnostics (the file's tree is then
 * withheld, so a half-read file does not produce a cascade of schema errors).
 */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const control = CONTROL.exec(text.replace(/\r\n/g, '\n ').replace(/^\uFEFF/, ''));
  if (control !== null) {
    // Found before parsing: a control byte is either a corrupt file or an attempt to write to
    // the terminal through an error message.
    const offset = control.index;
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const code = control[0].codePointAt(0) ?? 0;
    return {
      tree: undefined,
      diagnostics: [diag({ file, line, column }, '', `the file contains the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`, 'remove it; in a value that needs it, write a double-quoted YAML escape such as "\\t"')],
    };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, strict: true });
  const at = (offset: number): SourceLocation => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<number>();
  for (const e of doc.errors) {
    // One error per position: the parser's recovery often reports a second, derived one.
    if (reported.has(e.pos[0])) continue;
    reported.add(e.pos[0]);
    const message = e.message.replace(/ at line \d+, column \d+.*$/s, '');
    const path = e.pos[0] >= text.trimEnd().length ? '' : pathAtOffset(doc, e.pos[0]);
    diagnostics.push(diag(at(e.pos[0]), path, `YAML syntax error: ${message}`, YAML_HINTS[e.code] ?? 'fix the YAML syntax; an editor with the YAML language server shows it as you type'));
  }
  if (diagnostics.length > 0) {
    const open = unclosedFlow(text);
    if (open !== undefined && open.offset <= Math.min(...doc.errors.map((e) => e.pos[0]))) {
      // Everything the parser said after an unclosed bracket follows from it.
      const bracket = open.kind === 'sequence' ? ['[', ']'] : ['{', '}'];
      return {
        tree: undefined,
        diagnostics: [diag(at(open.offset), pathAtOffset(doc, open.offset), `YAML syntax error: unclosed flow ${open.kind}: this ${bracket[0]} has no matching ${bracket[1]}`, `close it with ${bracket[1]} before the line ends, or write the ${open.kind === 'sequence' ? 'list one "- item" per line' : 'map one "key: value" per line'}`)],
      };
    }
    return { tree: undefined, diagnostics };
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    diagnostics.push(diag(at(0), '', 'the file is empty', 'write the document as a map of keys, e.g. name: media'));
    return { tree: undefined, diagnostics };
  }
  let expansions = 0;
  let nodes = 0;
  // The first limit crossed stops the conversion: after it, every further node would report it again.
  let stopped = false;
  const stop = (offset: number, path: string, summary: string, hint: string): undefined => {
    if (!stopped) diagnostics.push(diag(at(offset), path, summary, hint));
    stopped = true;
    return undefined;
  };
  const convert = (node: YamlNode | null, fallback: number, path: string, depth: number): TNode | undefined => {
    if (stopped) return undefined;
    if (depth > MAX_DEPTH) return stop(node?.range?.[0] ?? fallback, path, `the document is nested more than ${MAX_DEPTH} levels deep`, 'flatten the structure; no lab field nests this deep');
    if (++nodes > LIMITS.nodes) return stop(node?.range?.[0] ?? fallback, path, `the document has more than ${LIMITS.nodes} values (after expanding aliases)`, 'split it into mixins, or share values with include: rather than YAML aliases');
    if (node === null) return { kind: 'scalar', value: null, origin: at(fallback) };
    if (isAlias(node)) {
      if (++expansions > LIMITS.aliases) {
        return stop(node.range?.[0] ?? fallback, path, `more than ${LIMITS.aliases} alias uses (*name)`, 'YAML aliases are fine for sharing a value, not for building large documents; share configuration with include: and a mixin');
      }
      const target = node.resolve(doc as Document);
      if (target === undefined) {
        diagnostics.push(diag(at(node.range?.[0] ?? fallback), path, `unknown alias *${node.source}`, `define the anchor &${node.source} before this line, or write the value here`));
        return undefined;
      }
      return convert(target as YamlNode, node.range?.[0] ?? fallback, path, depth + 1);
    }
    const origin = at(node.range?.[0] ?? fallback);
    if (isMap(node)) {
      if (node.items.length > LIMITS.mapKeys) return stop(node.range?.[0] ?? fallback, path, `a map with ${node.items.length} keys, over the limit of ${LIMITS.mapKeys}`, 'no lab field holds this many keys; split the data into mixins or files');
      const entries = new Map<string, TEntry>();
      const seen = new Set<string>();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyStart = keyNode?.range?.[0] ?? node.range?.[0] ?? fallback;
        if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
          diagnostics.push(diag(at(keyNode?.range?.[0] ?? keyStart), path, 'keys must be plain words', 'write key: value'));
          continue;
        }
        const key = String(keyNode.value);
        if (CONTROL.test(key)) {
          diagnostics.push(diag(at(keyStart), path, 'a key holds a control character', 'keys are field names or names of things: letters, digits and punctuation'));
          continue;
        }
        if (key.length > 256) {
          diagnostics.push(diag(at(keyStart), path, `a key of ${key.length} characters`, 'keys are field names or names of things, at most 256 characters'));
          continue;
        }
        const childPath = joinPath(path, key);
        if (key === '<<') {
          diagnostics.push(diag(at(keyStart), childPath, 'YAML merge keys (<<) are not supported', 'share configuration with include: and a mixin file'));
          continue;
        }
        // Checked here rather than by the parser, whose check is quadratic in the keys of a map.
        if (seen.has(key)) {
          diagnostics.push(diag(at(keyStart), childPath, `duplicate key "${key}"`, YAML_HINTS['DUPLICATE_KEY'] ?? ''));
          continue;
        }
        seen.add(key);
        const value = convert(pair.value as YamlNode | null, keyNode.range?.[1] ?? keyStart, childPath, depth + 1);
        if (value !== undefined) entries.set(key, { keyOrigin: at(keyStart), value });
      }
      return { kind: 'map', entries, origin };
    }
    if (isSeq(node)) {
      const items: TNode[] = [];
      node.items.forEach((item, i) => {
        const child = convert(item as YamlNode | null, node.range?.[0] ?? fallback, `${path}[${i}]`, depth + 1);
        if (child === undefined) return;
        child.index = i;
        items.push(child);
      });
      return { kind: 'seq', items, origin };
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string' && v.length > LIMITS.stringChars) {
        diagnostics.push(diag(origin, path, `a string of ${v.length} characters, over the limit of ${kib(LIMITS.stringChars)}`, 'put long content in a file in the repository and reference it with source:'));
        return undefined;
      }
      // Escaped control characters (`"\e[2J"`) reach values the double-quoted way; only file
      // content may need them, every other value is a name, path or text shown on a terminal.
      if (typeof v === 'string' && CONTROL.test(v) && !/(?:^|\.)content$/.test(path)) {
        diagnostics.push(diag(origin, path, 'the value holds a control character', 'remove it; only file content: may hold control characters'));
        return undefined;
      }
      const value: Scalar = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      return { kind: 'scalar', value, origin };
    }
    diagnostics.push(diag(origin, path, 'unsupported YAML node', 'write a map, a list or a plain value'));
    return undefined;
  };
  const tree = convert(doc.contents as YamlNode, 0, '', 0);
  return { tree, diagnostics };
}

/** `vm.disks[0].size`; keys that are not identifiers are quoted: `os.sysctl["net.ipv4.ip_forward"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const part = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
  if (base === '') return part.startsWith('"') ? `[${part}]` : part;
  return part.startsWith('"') ? `${base}[${part}]` : `${base}.${part}`;
}

const SIMPLE_KEY = /^[\w$.\/@-]+$/;

/**
 * Best-effort document path at a byte offset, for syntax errors. The document is what the
 * parser recovered, so it only descends through plain keys: a "key" made of half a line of
 * text is an artefact of the error, not a place in the file.
 */
function pathAtOffset(doc: Document, offset: number): string {
  let path = '';
  let node: unknown = doc.contents;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as YamlNode | null;
        const v = p.value as YamlNode | null;
        const start = k?.range?.[0] ?? Infinity;
        const end = v?.range?.[2] ?? k?.range?.[2] ?? -1;
        return start <= offset && offset < end;
      });
      if (pair === undefined || !isScalar(pair.key) || !SIMPLE_KEY.test(String(pair.key.value))) return path;
      path = joinPath(path, String(pair.key.value));
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => {
        const r = (it as YamlNode | null)?.range;
        return r != null && r[0] <= offset && offset < r[2];
      });
      if (i < 0) return path;
      path = joinPath(path, i);
      node = node.items[i];
    } else return path;
  }
  return path;
}

/** Plain data for the schema. Object keys are defined, not assigned, so `__proto__` stays data. */
export function toData(node: TNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toData);
    case 'map':
      return Object.fromEntries([...node.entries].map(([k, e]) => [k, toData(e.value)]));
  }
}

export interface Located {
  readonly source: SourceLocation;
  /** The path written the way the source file reads (sequence indices of that file). */
  readonly path: string;
  /** False when the path ends in a key that is not there (then source is its parent map). */
  readonly exists: boolean;
}

/**
 * Where a data path was written. Walks as far as the tree goes: a missing key reports its
 * parent map, so "missing required field" points at the map that should hold it.
 */
export function locate(root: TNode, path: readonly PropertyKey[], options: { key?: boolean } = {}): Located {
  let node: TNode = root;
  let source = root.origin;
  const steps: (string | TNode)[] = [];
  let rest: readonly PropertyKey[] = [];
  let exists = true;
  for (let i = 0; i < path.length; i++) {
    const part = path[i];
    const last = i === path.length - 1;
    if (node.kind === 'map' && typeof part === 'string') {
      const entry = node.entries.get(part);
      steps.push(part);
      if (entry === undefined) {
        source = node.origin;
        rest = path.slice(i + 1);
        exists = false;
        break;
      }
      source = last && options.key === true ? entry.keyOrigin : entry.value.origin;
      node = entry.value;
    } else if (node.kind === 'seq' && typeof part === 'number') {
      const item = node.items[part];
      if (item === undefined) {
        source = node.origin;
        rest = path.slice(i);
        exists = false;
        break;
      }
      steps.push(item);
      source = item.origin;
      node = item;
    } else {
      rest = path.slice(i);
      break;
    }
  }
  // Indices are shown as they are in the file the location points into, so the path and
  // file:line:col agree even for an item merged from several files.
  let shown = '';
  for (const s of steps) shown = typeof s === 'string' ? joinPath(shown, s) : joinPath(shown, indexIn(s, source.file));
  return { source, path: appendRest(shown, rest), exists };
}

/** Position of a list item in `file`: merged items remember one per contributing file. */
export function indexIn(node: TNode, file: string): number {
  return node.indexIn?.get(file) ?? (node.origin.file === file ? node.index : undefined) ?? node.index ?? 0;
}

function appendRest(base: string, rest: readonly PropertyKey[]): string {
  return rest.reduce<string>((acc, p) => joinPath(acc, typeof p === 'number' ? p : String(p)), base);
}
