import { z } from 'zod';
import { jsonSchemas } from './json-schema.js';
import { personaSchema } from './schema/persona.js';
import { describeRule, mergeRule } from './merge-rules.js';

/**
 * The Markdown reference of every field, rendered from the same JSON Schemas editors use,
 * so the reference cannot drift from what `lab validate` accepts. Committed as
 * docs/persona-reference.md; a test fails when the committed copy is stale.
 */

type Json = Record<string, unknown>;

interface Row {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly def: string;
  readonly text: string;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (v: unknown): string => `\`${typeof v === 'string' && v !== '' ? v : JSON.stringify(v)}\``;

function isRemoveMarker(s: unknown): boolean {
  return isObj(s) && isObj(s['properties']) && '$remove' in (s['properties'] as Json);
}

function variants(s: Json): Json[] {
  const list = (s['anyOf'] ?? s['oneOf']) as unknown;
  if (!Array.isArray(list)) return [s];
  return list.filter((v): v is Json => isObj(v) && !isRemoveMarker(v) && v['type'] !== 'null').flatMap(variants);
}

function typeOf(s: Json): string {
  if (typeof s['title'] === 'string' && s['title'] !== '') return s['title'];
  if (s['const'] !== undefined) return code(s['const']);
  if (Array.isArray(s['enum'])) return (s['enum'] as unknown[]).map(code).join(' | ');
  if (s['anyOf'] !== undefined || s['oneOf'] !== undefined) return [...new Set(variants(s).map(typeOf))].join(' or ');
  const t = s['type'];
  if (Array.isArray(t)) return t.filter((x) => x !== 'null').join(' or ');
  if (t === 'array') return `list of ${isObj(s['items']) ? plural(typeOf(s['items'] as Json)) : 'values'}`;
  if (t === 'object') return isObj(s['properties']) ? 'map' : isObj(s['additionalProperties']) ? `map of ${typeOf(s['additionalProperties'] as Json)}` : 'map';
  if (t === 'integer') return 'integer';
  return typeof t === 'string' ? t : 'any';
}

function plural(t: string): string {
  if (t.includes(' or ') || t.includes('`')) return `(${t})`;
  return t === 'map' ? 'maps' : t.endsWith('s') ? t : `${t}s`;
}

interface WalkOptions {
  /** Persona lists say how they merge; site lists are never composed. */
  readonly merge: boolean;
  /** For a variant of a discriminated union, e.g. `mode: remote`. */
  readonly label?: string;
}

function flow(v: unknown): string {
  if (!isObj(v)) return typeof v === 'string' ? v : JSON.stringify(v);
  return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')} }`;
}

function walk(s: Json, path: string, required: boolean, rows: Row[], opts: WalkOptions): void {
  const parts: string[] = [];
  if (opts.label !== undefined) parts.push(`*${opts.label}:*`);
  if (typeof s['description'] === 'string') parts.push(s['description']);
  if (opts.merge && s['type'] === 'array') parts.push(`Merge: ${describeRule(mergeRule(path))}.`);
  const examples = s['examples'];
  if (Array.isArray(examples) && examples.length > 0) parts.push(`Example: \`${flow(examples[0])}\`.`);
  const def = s['default'];
  rows.push({ path, type: typeOf(s), required, def: def === undefined || (isObj(def) && Object.keys(def).length === 0) ? '' : code(def), text: parts.join(' ') });
  if (s['title'] === 'secret reference') return;
  const all = variants(s);
  for (const v of all) {
    if (v['title'] === 'secret reference') continue;
    const obj = v['type'] === 'array' && isObj(v['items']) ? variants(v['items'] as Json).find((x) => isObj(x['properties'])) : v;
    if (obj === undefined || !isObj(obj['properties'])) continue;
    const prefix = v['type'] === 'array' ? `${path}[]` : path;
    const req = new Set(Array.isArray(obj['required']) ? (obj['required'] as string[]) : []);
    const tag = Object.entries(obj['properties'] as Json).find(([, p]) => isObj(p) && (p as Json)['const'] !== undefined);
    const label = all.length > 1 && tag !== undefined ? `${tag[0]}: ${String((tag[1] as Json)['const'])}` : opts.label;
    for (const [k, p] of Object.entries(obj['properties'] as Json)) {
      if (!isObj(p)) continue;
      walk(p, `${prefix ? `${prefix}.` : ''}${k}`, req.has(k), rows, { ...opts, ...(label === undefined ? {} : { label }) });
    }
  }
}

function table(rows: readonly Row[]): string {
  const lines = ['| Field | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) lines.push(`| \`${cell(r.path)}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.def)} | ${cell(r.text)} |`);
  return lines.join('\n');
}

function rowsOf(schema: Json, merge: boolean): [string, Row[]][] {
  const props = (schema['properties'] ?? {}) as Json;
  const req = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  return Object.entries(props)
    .filter((e): e is [string, Json] => isObj(e[1]))
    .map(([k, p]) => {
      const rows: Row[] = [];
      walk(p, k, req.has(k), rows, { merge });
      return [k, rows];
    });
}

/** `required` is taken from `final`: what must be present once a persona is composed. */
function section(title: string, schema: Json, final: Json, merge: boolean, intro: string): string {
  const out = [`## ${title}`, '', intro, ''];
  const required = new Set(rowsOf(final, merge).flatMap(([, rows]) => rows.filter((r) => r.required).map((r) => r.path)));
  const top: Row[] = [];
  const nested: [string, Row[]][] = [];
  for (const [k, raw] of rowsOf(schema, merge)) {
    const rows = raw.map((r) => ({ ...r, required: required.has(r.path) }));
    if (rows.length === 1) top.push(...rows);
    else nested.push([k, rows]);
  }
  out.push(table(top), '');
  for (const [k, rows] of nested) out.push(`### \`${k}\``, '', table(rows), '');
  return out.join('\n');
}

const INTRO = `# Persona and site reference

<!-- Generated from the zod schemas in packages/intent by \`pnpm --filter @lab/intent generate\`. Do not edit by hand: a test fails when this file is stale. -->

Every field of \`lab.yaml\`, of \`personas/<name>/persona.yaml\` and of mixins under \`personas/_mixins/\`.
Unknown keys are errors. Editors get completion and checks from the JSON Schemas in
\`packages/intent/schemas/\`: start a file with

\`\`\`yaml
# yaml-language-server: $schema=../../packages/intent/schemas/persona.schema.json
\`\`\`

**Units.** A *size* is a number and a binary unit, as in Proxmox: \`512M\`, \`8G\` = \`8GiB\`, \`2T\`; a bare
number is bytes; \`GB\`/\`MB\` are rejected as ambiguous. A *duration* is \`90s\`, \`5m\`, \`2h\`, \`7d\`, \`2w\`
or combined (\`1h30m\`); a bare number is seconds.

**Secrets.** Values never appear in intent. Where a field accepts a *secret reference*, write
\`{ secret: media/jellyfin-api-key }\`; \`lab validate\` fails when the store has no such secret.

**Paths.** \`source\`, \`compose\` and \`signedBy.file\` paths are relative to the YAML file that declares
them (a persona's folder, or \`personas/_mixins/\`); the loaded persona carries them relative to the lab root.

**Composition.** \`include:\` lists mixins, relative to \`personas/\`, applied in order before the file
itself (mixins may include mixins; a cycle is an error). Maps merge deeply and the including file wins.
Lists merge as the *Merge* note of each list says: keyed lists merge item by item, sets take the union,
other lists are replaced. \`- $remove: <key>\` drops an inherited list item; \`key: null\` drops an
inherited entry of a free-form map (\`sysctl\`, \`env\`, \`variables\`). A mixin cannot set \`name\` or
\`lifecycle\`, and its \`description\` is not merged. See adr/0011-composition-and-merge-rules.md.
`;

/** Markdown reference of every persona, mixin and site field. */
export function renderPersonaReference(): string {
  const { persona, site } = jsonSchemas();
  const final = z.toJSONSchema(personaSchema(), { io: 'input', unrepresentable: 'any' }) as Json;
  return [
    INTRO,
    section('Persona (`personas/<name>/persona.yaml`)', persona as Json, final, true, 'Required means required once the persona and its mixins are composed; a single file may leave it to a mixin.'),
    section('Site (`lab.yaml`)', site as Json, site as Json, false, 'One per lab, at the repository root.'),
  ].join('\n').replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n');
}
