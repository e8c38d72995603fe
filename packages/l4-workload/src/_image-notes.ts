import { LabError, type Diagnostic } from '@lab/core';
import { checkImageOverrides, type ImageOverrideNote, type ImageOverrides } from './image-overrides.js';
import { stackAddress } from './plan.js';

/** A bad map fails before anything is rendered: running the wrong image is worse than stopping. */
export function overridesOrThrow(overrides: ImageOverrides | undefined): void {
  if (overrides === undefined) return;
  const problems = checkImageOverrides(overrides);
  if (problems.length === 0) return;
  throw new LabError({
    code: 'LAB_L4_IMAGE_OVERRIDES_INVALID',
    summary: `${problems.length} problem${problems.length === 1 ? '' : 's'} in the image overrides`,
    diagnostics: problems,
    hint: 'fix workloads.imageOverrides in lab.yaml (or the overrides file you passed); nothing was changed on the guest',
  });
}

/** One `info` diagnostic per rewritten image: plans show them whether or not the stack changes. */
export function imageOverrideNotes(persona: string, notes: ReadonlyMap<string, readonly ImageOverrideNote[]>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [stack, list] of notes) {
    for (const n of list) {
      out.push({
        severity: 'info',
        code: 'LAB_L4_IMAGE_OVERRIDE',
        summary: `stack ${stack}: service ${n.service} runs ${n.image} in place of ${n.declared} (image override "${n.rule}")`,
        address: stackAddress(persona, stack),
        path: `services.${n.service}.image`,
      });
    }
  }
  return out;
}
