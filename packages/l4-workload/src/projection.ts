import type { Plan } from '@lab/core';
import { imagesOfStack } from './images.js';
import { planWorkloads } from './plan.js';
import { renderWorkloads, type RenderOptions } from './render.js';
import { dockerImageSource, type ImageSource } from './workstation-docker.js';

/**
 * L4 of a guest that does not exist yet, for `lab up`'s combined plan (adr/0115): no Docker and
 * no stack on the host, so every stack is a create. The plan is never applied; the caller marks
 * it as planned from intent.
 */
export async function projectWorkloads(input: RenderOptions & { readonly labVersion: string; readonly images?: ImageSource }): Promise<Plan> {
  const { labVersion, images, ...render } = input;
  const { desired, warnings } = await renderWorkloads(render);
  // Push delivery (adr/0150): the new guest holds no image, so every one the workstation has is a push.
  const workstationImages = desired.imageDelivery === 'push' ? await (images ?? dockerImageSource()).inspect([...new Set(desired.stacks.flatMap(imagesOfStack))]) : undefined;
  return planWorkloads(desired, { docker: false, stacks: [], containers: [] }, { labVersion, warnings, ...(workstationImages ? { workstationImages } : {}) });
}
