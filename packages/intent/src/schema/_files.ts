import { z } from 'zod';
import { isSecretRef, secretRefSchema, valueOrSecret } from '../secret-ref.js';
import type { Build } from './_build.js';
import { bool, fileMode, got, msg, obj, oneOf, owner, relPath, scalar, text } from './_leaf.js';

/**
 * A file lab writes, in the guest (`os.files`) or in a stack directory
 * (`workloads.stacks[].files`). Content comes from exactly one of `content` (inline text or a
 * secret) or `source` (a file next to the YAML that declares it), optionally rendered as a
 * template with `variables`.
 */
export function fileSpec(b: Build, rule: string, path: z.ZodType<string>) {
  return b.list(
    rule,
    obj({
      path: path.describe('Where the file goes.'),
      content: z
        .union([text('file content'), secretRefSchema()], {
          error: () => msg('expected file content as text or a secret reference like { secret: edge/tls-key }'),
        })
        .optional()
        .describe('Inline content, or `{ secret: … }` to write a secret verbatim (e.g. a private key).'),
      source: relPath('files/Caddyfile')
        .optional()
        .describe('File next to the YAML that declares it, copied (or rendered with `template: true`). Resolved to a lab-root-relative path.'),
      template: bool().default(false).describe('Render `{{ name }}` placeholders in the content from `variables`.'),
      variables: b
        .record(variableName(), valueOrSecret(scalar()))
        .default({})
        .describe('Template variables: plain values or secret references; secrets are rendered only in the guest file.'),
      mode: fileMode('0644').optional().describe('Permissions, quoted octal. Default "0644", or "0600" when the content holds a secret (a `{ secret: … }` content or variable, or a source file holding a private key).'),
      allowWorldReadableSecret: bool()
        .default(false)
        .describe('Allow a mode that lets every user of the guest read a file holding a secret. Without it, such a mode is refused.'),
      owner: owner('root').default('root').describe('Owning user.'),
      group: owner('root').default('root').describe('Owning group.'),
      state: oneOf(['present', 'absent']).default('present').describe('`absent` deletes the file.'),
    }).superRefine((f, ctx) => {
      if (b.mode !== 'final') return;
      const has = (f.content !== undefined ? 1 : 0) + (f.source !== undefined ? 1 : 0);
      if (f.state === 'present' && has !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: has === 0 ? [] : ['source'],
          message: msg(has === 0 ? 'a file needs content or source' : 'content and source are both set', 'set exactly one of content or source'),
        });
      }
      const secret = isSecretRef(f.content) || Object.values(f.variables).some((v) => isSecretRef(v));
      if (secret && f.mode !== undefined && worldAccessible(f.mode) && !f.allowWorldReadableSecret) {
        ctx.addIssue({
          code: 'custom',
          path: ['mode'],
          message: msg(`mode ${f.mode} lets every user of the guest read this file, which holds a secret`, 'use mode: "0600" (or "0640" and a group), or set allowWorldReadableSecret: true if that is really meant'),
        });
      }
      if (!f.template && Object.keys(f.variables).length > 0) {
        ctx.addIssue({ code: 'custom', path: ['variables'], message: msg('variables are set but template is false', 'add template: true') });
      }
    }),
  );
}

/** Any permission for "other" users. */
export function worldAccessible(mode: string): boolean {
  return (Number.parseInt(mode, 8) & 0o007) !== 0;
}

/** The mode a file is written with: as declared, else 0600 for a secret and 0644 for the rest. */
export function effectiveFileMode(declared: string | undefined, holdsSecret: boolean): string {
  return declared ?? (holdsSecret ? '0600' : '0644');
}

function variableName() {
  return z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: (iss) => `expected a variable name like "domain", got ${got(iss.input)}` });
}
