import type { Layer } from '@lab/core';
import type { LayerAdapter } from './adapter.js';

/**
 * Layers the CLI knows, in the order they run. Each entry loads its layer lazily so a command
 * pays only for the layers it uses. A layer appears here only once it is real (no stubs).
 */
const loaders: Partial<Record<Layer, () => Promise<LayerAdapter>>> = {
  l0: () => import('./l0.js').then((m) => m.l0Adapter),
  l1: () => import('./l1.js').then((m) => m.l1Adapter),
  l2: () => import('./l2.js').then((m) => m.l2Adapter),
  l3: () => import('./l3.js').then((m) => m.l3Adapter),
  l4: () => import('./l4.js').then((m) => m.l4Adapter),
};

export const LAYER_ORDER: readonly Layer[] = ['l0', 'l1', 'l2', 'l3', 'l4', 'capture'];

export function availableLayers(): Layer[] {
  return LAYER_ORDER.filter((l) => loaders[l] !== undefined);
}

export async function loadLayer(layer: Layer): Promise<LayerAdapter | undefined> {
  const load = loaders[layer];
  return load ? load() : undefined;
}
