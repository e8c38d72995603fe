import { Ajv2019 } from 'ajv/dist/2019.js';
import { LineCounter, isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { Diagnostic, SourceLocation } from '@lab/core';
import composeSpec from './schema/compose-spec.json' with { type: 'json' };

/** Where a compose document came from, so diagnostics can point into it. */
export interface ComposeSource {
  /** Lab-root-relative file of the document (the persona file for inline documents). */
  readonly file: string;
  /** Position of an inline document inside `file`. */
  readonly base?: SourceLocation;
  /** Dotted path prefix for inline documents, e.g. `workloads.stacks[0].compose`. */
  readonly pathPrefix?: string;
}

export interface ParsedCompose {
  readonly data: Record<string, unknown>;
  readonly diagnostics: Diagnostic[];
  /** Location of a JSON path inside the document (best effort). */
  locate(path: readonly (string | number)[]): SourceLocation | undefined;
}

// The compose-spec formats are checked by Compose itself; ajv only needs to know they exist.
const FORMATS = ['duration', 'expose', 'ports', 'subnet_ip_address'];
let validator: ReturnType<Ajv2019['compile']> | undefined;

function validate(): ReturnType<Ajv2019['compile']> {
  if (validator) return validator;
  const ajv = new Ajv2019({ strict: false, allErrors: true, allowUnionTypes: true });
  for (const f of FORMATS) ajv.addFormat(f, true);
  validator = ajv.compile(withoutDraft4Ids(composeSpec) as Record<string, unknown>);
  return validator;
}

/**
 * The shipped schema (compose-spec 2021, draft 2019-09) still labels subschemas with draft-04
 * `id` strings, which ajv refuses; they carry no meaning, so they are dropped on load. A
 * property *named* `id` is an object, never a string, and survives.
 */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'id' || k === '$schema') && typeof v === 'string') continue;
    out[k] = withoutDraft4Ids(v);
  }
  return out;
}

function pointerPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function locator(doc: Document | undefined, lines: LineCounter | undefined, source: ComposeSource) {
  return (path: readonly (string | number)[]): SourceLocation | undefined => {
    if (!doc || !lines) return source.base;
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const parent = n > 0 ? doc.getIn(path.slice(0, n - 1), true) : undefined;
      // Prefer the key's position for a missing or scalar value: that is where people look.
      let offset = node && typeof node === 'object' && node.range ? node.range[0] : undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === path[n - 1]);
        const keyRange = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (keyRange) offset = keyRange[0];
      } else if (isSeq(parent) && offset === undefined) continue;
      if (offset !== undefined) {
        const pos = lines.linePos(offset);
        return { file: source.file, line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
}

/**
 * Parse and validate one compose document against the compose-spec JSON Schema (a data file
 * shipped with this package). Errors point at file:line:col of the offending key.
 */
export function parseCompose(input: string | Record<string, unknown>, source: ComposeSource): ParsedCompose {
  const diagnostics: Diagnostic[] = [];
  let data: unknown = input;
  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  if (typeof input === 'string') {
    lines = new LineCounter();
    doc = parseDocument(input, { lineCounter: lines, merge: true });
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      diagnostics.push({
        severity: 'error',
        code: 'LAB_L4_COMPOSE_INVALID',
        summary: `not valid YAML: ${e.message.split('\n')[0]}`,
        source: { file: source.file, line: pos?.line ?? 1, column: pos?.col ?? 1 },
      });
    }
    data = doc.toJS({ maxAliasCount: 1000 });
  }
  const locate = locator(doc, lines, source);
  const prefix = (p: readonly (string | number)[]) => (source.pathPrefix ? `${source.pathPrefix}${p.length ? '.' : ''}${dotted(p)}` : dotted(p));
  if (diagnostics.length > 0) return { data: {}, diagnostics, locate };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    diagnostics.push({ severity: 'error', code: 'LAB_L4_COMPOSE_INVALID', summary: 'a compose document must be a map with `services:`', source: locate([]) ?? { file: source.file, line: 1, column: 1 } });
    return { data: {}, diagnostics, locate };
  }
  const check = validate();
  if (!check(data)) {
    const seen = new Set<string>();
    for (const e of check.errors ?? []) {
      // oneOf/anyOf report every branch; the first error per path is the useful one.
      const path = pointerPath(e.instancePath);
      const extra = e.keyword === 'additionalProperties' ? String((e.params as { additionalProperty?: string }).additionalProperty) : undefined;
      const at = extra === undefined ? path : [...path, extra];
      const key = dotted(at);
      if (seen.has(key)) continue;
      seen.add(key);
      const summary = extra === undefined ? `${key || 'document'} ${e.message ?? 'is invalid'}` : `${key}: unknown key "${extra}"`;
      const loc = locate(at);
      diagnostics.push({
        severity: 'error',
        code: 'LAB_L4_COMPOSE_INVALID',
        summary,
        path: prefix(at),
        hint: 'see https://github.com/compose-spec/compose-spec/blob/master/spec.md',
        ...(loc ? { source: loc } : {}),
      });
    }
  }
  if (typeof (data as { services?: unknown }).services !== 'object' || (data as { services?: unknown }).services === null) {
    const loc = locate([]);
    diagnostics.push({ severity: 'error', code: 'LAB_L4_COMPOSE_INVALID', summary: 'the compose document declares no services', hint: 'add services: { <name>: { image: … } }', ...(loc ? { source: loc } : {}) });
  }
  return { data: data as Record<string, unknown>, diagnostics, locate };
}
