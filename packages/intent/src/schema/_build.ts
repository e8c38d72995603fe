import { z } from 'zod';
import { MERGE_RULES } from '../merge-rules.js';
import { got, msg } from './_leaf.js';

/**
 * One schema definition, three readings. `final` validates a composed persona (what the
 * layers consume). `file` and `mixin` describe a single YAML file for editors and the JSON
 * Schema: a file may leave out what an included mixin supplies and may carry `$remove`
 * markers, so required fields relax there. Only `final` is used to parse.
 */
export type Mode = 'final' | 'file' | 'mixin';

export interface Build {
  readonly mode: Mode;
  /** Required once composed; optional in a single file. Typed as the final reading. */
  req<T extends z.ZodType>(schema: T): T;
  /** A list whose merge rule is in MERGE_RULES under `rule`; files may hold `$remove` items. */
  list<T extends z.ZodType>(rule: string, item: T): z.ZodArray<T>;
  /** A free-form map; in a file a `null` value removes an inherited key. */
  record<T extends z.ZodType>(key: z.ZodType<string>, value: T): z.ZodRecord<z.ZodType<string, string>, T>;
}

function removeMarker(rule: string) {
  const spec = MERGE_RULES[rule];
  const value =
    spec?.kind === 'keyed' && spec.key.length > 1
      ? z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      : z.union([z.string(), z.number(), z.boolean()]);
  return z.strictObject({ $remove: value.describe('Key (or value) of the inherited item to drop.') }).describe('Removes an inherited item.');
}

export function build(mode: Mode): Build {
  const lenient = mode !== 'final';
  return {
    mode,
    req: (schema) => (lenient ? (schema.optional() as unknown as typeof schema) : schema),
    list: (rule, item) => {
      if (MERGE_RULES[rule] === undefined) throw new Error(`no merge rule for list ${rule}`);
      const listError = (iss: { input?: unknown }): string => msg(`expected a list, got ${got(iss.input)}`, 'write one item per line, each starting with "- "');
      if (!lenient) return z.array(item, { error: listError });
      return z.array(z.union([item, removeMarker(rule)]), { error: listError }) as unknown as z.ZodArray<typeof item>;
    },
    record: (key, value) =>
      (lenient
        ? z.record(key, value.nullable(), { error: (iss) => msg(`expected a map of key: value, got ${got(iss.input)}`) })
        : z.record(key, value, { error: (iss) => msg(`expected a map of key: value, got ${got(iss.input)}`) })) as unknown as z.ZodRecord<
        z.ZodType<string, string>,
        typeof value
      >,
  };
}
