import type { Persona } from '@lab/intent';
import type { Plan } from '@lab/core';
import { FactSet } from './facts/fact.js';
import { planL3, requiredFacts } from './plan.js';
import { resolveOs, type SecretSource } from './resolve.js';

/**
 * L3 of a guest that does not exist yet, for `lab up`'s combined plan (adr/0115): every fact at
 * its empty value ("absent"), as on a blank guest. The plan is never applied; the caller marks
 * it as planned from intent.
 */
export async function projectOs(input: { readonly persona: Persona; readonly root: string; readonly secrets: SecretSource; readonly labVersion: string }): Promise<Plan> {
  const intent = await resolveOs(input.persona, { root: input.root, secrets: input.secrets });
  const facts = new FactSet().with(requiredFacts(intent).map((f) => [f, f.empty] as const));
  return planL3(intent, facts, { labVersion: input.labVersion, mode: 'normal' });
}
