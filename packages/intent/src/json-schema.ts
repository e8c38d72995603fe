import { z } from 'zod';
import { personaFileSchema } from './schema/persona.js';
import { siteFileSchema } from './schema/site.js';

/**
 * JSON Schemas of the three kinds of file, for editors (yaml-language-server) and other
 * tools. Generated from the zod schemas on their input side, so `memory: 8GiB` validates.
 * Committed under packages/intent/schemas/ and kept in sync by a test.
 */
export interface JsonSchemas {
  readonly site: Record<string, unknown>;
  readonly persona: Record<string, unknown>;
  readonly mixin: Record<string, unknown>;
}

function toJson(schema: z.ZodType, id: string): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = json;
  return { $schema, $id: `urn:lab:schema:${id}`, ...rest };
}

export function jsonSchemas(): JsonSchemas {
  return {
    site: toJson(siteFileSchema(), 'site'),
    persona: toJson(personaFileSchema('file'), 'persona'),
    mixin: toJson(personaFileSchema('mixin'), 'mixin'),
  };
}
