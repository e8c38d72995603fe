import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { generatedFiles, jsonSchemas } from '../src/index.js';

const REPO = resolve(import.meta.dirname, '../../..');
const STALE = 'stale generated file: run `pnpm --filter @lab/intent generate` and commit the result';

function committed(name: 'site' | 'persona' | 'mixin'): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO, `packages/intent/schemas/${name}.schema.json`), 'utf8')) as Record<string, unknown>;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir)).filter((f) => f.endsWith('.yaml')).map((f) => `${dir}/${f}`);
}

const personaFiles = readdirSync(join(REPO, 'personas'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
  .map((d) => `personas/${d.name}/persona.yaml`);

// Compiling a 100 kB schema takes ajv a few hundred ms: compile each committed schema once.
const compiled = new Map<string, ReturnType<Ajv2020['compile']>>();
function validator(name: 'site' | 'persona' | 'mixin') {
  let v = compiled.get(name);
  if (v === undefined) {
    v = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(committed(name));
    compiled.set(name, v);
  }
  return v;
}

describe('JSON Schemas', () => {
  it('are committed and current', () => {
    for (const f of generatedFiles().filter((g) => g.path.endsWith('.json'))) {
      expect(readFileSync(join(REPO, f.path), 'utf8'), `${f.path}: ${STALE}`).toBe(f.content);
    }
  });

  it('are draft 2020-12 with ids and forbid unknown keys', () => {
    const s = jsonSchemas();
    for (const [name, schema] of Object.entries(s)) {
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['$id']).toBe(`urn:lab:schema:${name}`);
      expect(schema['additionalProperties']).toBe(false);
    }
  });

  it.each(personaFiles)('%s validates against the committed persona schema', (file) => {
    const validate = validator('persona');
    const ok = validate(parse(readFileSync(join(REPO, file), 'utf8')));
    expect(validate.errors ?? [], file).toEqual([]);
    expect(ok).toBe(true);
  });

  it.each(yamlFiles('personas/_mixins'))('%s validates against the committed mixin schema', (file) => {
    const validate = validator('mixin');
    expect(validate(parse(readFileSync(join(REPO, file), 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('lab.yaml validates against the committed site schema', () => {
    const validate = validator('site');
    expect(validate(parse(readFileSync(join(REPO, 'lab.yaml'), 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('every persona and mixin names its schema for the editor', () => {
    for (const file of personaFiles) {
      expect(readFileSync(join(REPO, file), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../../packages/intent/schemas/persona.schema.json');
    }
    for (const file of yamlFiles('personas/_mixins')) {
      expect(readFileSync(join(REPO, file), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../../packages/intent/schemas/mixin.schema.json');
    }
  });

  it('rejects what the loader rejects for shape: bad units, unknown keys, wrong types', () => {
    const validate = validator('persona');
    const bad = (doc: unknown): boolean => validate(doc) === false;
    expect(bad({ name: 'media', vm: { memory: 'lots' } })).toBe(true);
    expect(bad({ name: 'media', vm: { memroy: '8GiB' } })).toBe(true);
    expect(bad({ name: 'Media' })).toBe(true);
    expect(bad({ name: 'media', os: { files: [{ path: '/etc/x', mode: 644 }] } })).toBe(true);
    expect(bad({ vm: { memory: '8GiB' } })).toBe(true);
    expect(bad({ name: 'media', vm: { memory: '8GiB' }, os: { packages: ['htop', { $remove: 'nano' }] } })).toBe(false);
    const mixin = validator('mixin');
    expect(mixin({ name: 'base' })).toBe(false);
  });

  it('every example in the schemas validates against its own field', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    let checked = 0;
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const obj = node as Record<string, unknown>;
      if (Array.isArray(obj['examples']) && where !== '') {
        const { examples, ...schema } = obj;
        const validate = ajv.compile(schema);
        for (const ex of examples as unknown[]) {
          checked++;
          expect(validate(ex), `${where}: example ${JSON.stringify(ex)}: ${JSON.stringify(validate.errors)}`).toBe(true);
        }
      }
      for (const [k, v] of Object.entries(obj)) walk(v, `${where}/${k}`);
    };
    for (const [name, schema] of Object.entries(jsonSchemas())) walk(schema, name);
    expect(checked).toBeGreaterThan(50);
  });
});
