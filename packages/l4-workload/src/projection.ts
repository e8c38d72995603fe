import type { Plan } from '@lab/core';
import { planWorkloads } from './plan.js';
import { renderWorkloads, type RenderOptions } from './render.js';

/**
 * L4 of a guest that does not exist yet, for `lab up`'s combined plan (adr/0115): no Docker and
 * no stack on the host, so every stack is a create. The plan is never applied; the caller marks
 * it as planned from intent.
 */
export async function projectWorkloads(input: RenderOptions & { readonly labVersion: string }): Promise<Plan> {
  const { labVersion, ...render } = input;
  const { desired, warnings } = await renderWorkloads(render);
  return planWorkloads(desired, { docker: false, stacks: [], containers: [] }, { labVersion, warnings });
}
