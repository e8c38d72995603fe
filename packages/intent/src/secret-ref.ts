import { z } from 'zod';
import type { SourceLocation } from '@lab/core';
import { got, msg } from './schema/_leaf.js';
import { suggestion } from './_suggest.js';

/**
 * A pointer to a secret, never its value: `{ secret: media/jellyfin-api-key }`. The name is
 * a path inside the encrypted secrets store; `lab validate` fails when it does not exist.
 */
export interface SecretRef {
  readonly secret: string;
}

export const SECRET_NAME = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;

const SECRET_HINT =
  'secret values never go in intent files: store the value in the encrypted secrets store and reference it as { secret: <persona>/<name> }';

export function secretRefSchema() {
  return z
    .strictObject(
      {
        secret: z
          .string({ error: (iss) => msg(`expected a secret name like "media/jellyfin-api-key", got ${got(iss.input)}`) })
          .regex(SECRET_NAME, {
            error: (iss) =>
              msg(
                `expected a secret name like "media/jellyfin-api-key", got ${got(iss.input)}`,
                'names are lowercase path segments of letters, digits, ".", "_" and "-", separated by "/"',
              ),
          })
          .describe('Name of the secret in the secrets store, e.g. `media/jellyfin-api-key`.'),
      },
      {
        error: (iss) =>
          iss.code === 'invalid_type'
            ? msg(`expected a secret reference like { secret: media/jellyfin-api-key }, got ${got(iss.input)}`, SECRET_HINT)
            : undefined,
      },
    )
    .meta({ title: 'secret reference', examples: [{ secret: 'media/jellyfin-api-key' }] });
}

/**
 * A plain value or a secret reference (env values, template variables). A map that is not a
 * valid reference gets the reference's own wording and a "did you mean" for its key.
 */
export function valueOrSecret(value: z.ZodType<string | number | boolean>) {
  return z.union([value, secretRefSchema()], {
    error: (iss) => {
      const input = iss.input;
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
        const keys = Object.keys(input);
        const typo = keys.find((k) => k !== 'secret');
        return msg(
          `expected a secret reference like { secret: media/jellyfin-api-key }, got ${got(input)}`,
          typo === undefined ? SECRET_HINT : `${suggestion(typo, ['secret'], 'the only key is')} A reference is { secret: <persona>/<name> }`,
        );
      }
      return msg(`expected a value or a secret reference like { secret: media/jellyfin-api-key }, got ${got(input)}`);
    },
  });
}

/** Structural test: a plain object whose only key is a string `secret`. */
export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'secret' && typeof (value as { secret: unknown }).secret === 'string';
}

/** One place a secret is referenced: which secret, at which path, written where. */
export interface SecretRefUse {
  readonly name: string;
  /** Dotted path of the reference inside the document, e.g. `workloads.stacks[0].env.API_KEY`. */
  readonly path: string;
  readonly source?: SourceLocation;
}

/** What collectSecretRefs needs: a loaded document and a way back to its source. */
export interface Locatable {
  readonly value: unknown;
  readonly locate: (path: readonly (string | number)[]) => { readonly source: SourceLocation; readonly path: string } | undefined;
}

/** Every secret reference in a document, in document order, with its path and source location. */
export function findSecretRefs(doc: Locatable): SecretRefUse[] {
  const out: SecretRefUse[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (isSecretRef(value)) {
      const where = doc.locate(path);
      out.push({ name: value.secret, path: where?.path ?? path.join('.'), ...(where ? { source: where.source } : {}) });
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(doc.value, []);
  return out;
}
