import type { Persona } from '@lab/intent';
import type { Plan } from '@lab/core';
import { FactSet } from './facts/fact.js';
import { planL3, requiredFacts } from './plan.js';
import { resolveOs, type SecretSource } from './resolve.js';

/**
 * L3 of a guest that does not exist yet, for `lab up`'s combined plan (adr/0115): every fact at
 * its empty value ("absent"), as on a blank guest. The plan is never applied; the caller marks
 * it as planned from intent. Data disks are the exception: L2 attaches them before L3 runs, so
 * they are projected as attached and blank (a persistent disk that already holds a filesystem
 * shows as a no-op when L3 plans again against the real guest).
 */
export async function projectOs(input: { readonly persona: Persona; readonly root: string; readonly secrets: SecretSource; readonly labVersion: string }): Promise<Plan> {
  const intent = await resolveOs(input.persona, { root: input.root, secrets: input.secrets });
  // L2 attaches every declared data disk before L3 runs: projected, each is a blank disk there.
  const facts = new FactSet().with(requiredFacts(intent).map((f) => [f, f.name === 'block' ? { present: true } : f.empty] as const));
  return planL3(intent, facts, { labVersion: input.labVersion, mode: 'normal' });
}
