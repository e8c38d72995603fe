import { defineCommand } from 'citty';
import { ExitCode, LabError, type Diagnostic } from '@lab/core';
import { collectSecretRefs, loadLab, type Lab } from '@lab/intent';
import { openSecretStore } from '@lab/secrets';
import { createContext, globalArgs } from '../context.js';

/**
 * Secrets are referenced by name in intent; a reference to a secret that is not in the store is
 * an error of the intent, reported where the reference was written. Only file existence is
 * checked, so validation needs no identity and decrypts nothing.
 */
async function missingSecrets(lab: Lab, personas: ReadonlySet<string> | undefined): Promise<Diagnostic[]> {
  const store = openSecretStore({ root: lab.root, dir: lab.site.site.secrets.dir, recipients: lab.site.site.secrets.recipients });
  const targets = [lab.site, ...lab.personas.filter((p) => !personas || personas.has(p.name))];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    for (const ref of collectSecretRefs(target)) {
      // A reference written once in a mixin is reached through every persona that includes it.
      const key = `${ref.name}@${ref.source ? `${ref.source.file}:${ref.source.line}:${ref.source.column}` : ref.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (await store.has(ref.name)) continue;
      out.push({
        severity: 'error',
        code: 'LAB_SECRET_NOT_FOUND',
        summary: `secret "${ref.name}" does not exist in ${lab.site.site.secrets.dir}/`,
        hint: `create it: lab secret set ${ref.name}`,
        path: ref.path,
        ...(ref.source ? { source: ref.source } : {}),
      });
    }
  }
  return out;
}

export const validateCommand = defineCommand({
  meta: { name: 'validate', description: 'Validate lab.yaml and personas: schema, cross-references, secret references' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'Only this persona (comma-separated for several)', valueHint: 'name' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const wanted = args.persona ? new Set(args.persona.split(',').map((s) => s.trim())) : undefined;
    if (wanted) {
      const known = new Set(lab.personas.map((p) => p.name));
      const unknown = [...wanted].filter((n) => !known.has(n));
      if (unknown.length > 0) {
        throw new LabError({
          code: 'LAB_PERSONA_NOT_FOUND',
          summary: `no persona named ${unknown.map((n) => `"${n}"`).join(', ')}`,
          hint: `personas: ${[...known].join(', ')} (see \`lab personas\`)`,
        });
      }
    }
    const errors = await missingSecrets(lab, wanted);
    const personas = lab.personas.filter((p) => !wanted || wanted.has(p.name));
    const warnings = [...lab.site.warnings, ...personas.flatMap((p) => p.warnings)];
    if (errors.length > 0) {
      throw new LabError({
        code: 'LAB_INTENT_INVALID',
        summary: `${errors.length} problem(s) in the lab's intent`,
        diagnostics: errors,
      });
    }
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ ok: true, personas: personas.map((p) => ({ name: p.name, file: p.file, digest: p.digest })), warnings }, null, 2));
    } else {
      for (const w of warnings) ctx.reporter.emit({ type: 'diagnostic', diagnostic: w });
      ctx.io.err(`✓ lab.yaml and ${personas.length} persona(s) valid: ${personas.map((p) => p.name).join(', ')}`);
    }
    return ExitCode.Ok;
  },
});
