import { jsonSchemas } from './json-schema.js';
import { renderPersonaReference } from './reference-doc.js';

/** A file generated from the schemas and committed; a test fails when a committed copy is stale. */
export interface GeneratedFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

export function generatedFiles(): GeneratedFile[] {
  const schemas = jsonSchemas();
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  return [
    { path: 'packages/intent/schemas/site.schema.json', content: json(schemas.site) },
    { path: 'packages/intent/schemas/persona.schema.json', content: json(schemas.persona) },
    { path: 'packages/intent/schemas/mixin.schema.json', content: json(schemas.mixin) },
    { path: 'docs/persona-reference.md', content: renderPersonaReference() },
  ];
}
