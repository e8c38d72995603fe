import { findSecretRefs, type SecretRefUse } from './secret-ref.js';
import type { Lab, LoadedPersona, LoadedSite } from './types.js';

/**
 * Every `{ secret: … }` reference of a persona, of the site, or of a whole lab, with the
 * dotted path and the file:line:col where it is written. `lab validate` checks each name
 * against the secrets store and reports a missing one at this location.
 */
export function collectSecretRefs(target: LoadedPersona | LoadedSite | Lab): SecretRefUse[] {
  if ('personas' in target) return [...collectSecretRefs(target.site), ...target.personas.flatMap((p) => collectSecretRefs(p))];
  // A baked image's resolved profile repeats refs written in mixins (located there, through the
  // personas that include them) or under its `bake:` (located in lab.yaml): scan those only.
  const value = 'persona' in target ? target.persona : { ...target.site, images: target.site.images.map(({ baked: _, ...im }) => im) };
  return findSecretRefs({ value, locate: (path) => target.locate(path) });
}
