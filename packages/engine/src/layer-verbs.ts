/**
 * @lab/engine/layer-verbs — the part of the engine `lab plan|check|apply|destroy` need, and no
 * more (adr/0186). The main entry re-exports every engine feature, and a bundle that imports it
 * loads all of them (the Proxmox client and its HTTP library, capture, rebuild…) even for an L3
 * check that only speaks SSH. Importing this entry instead keeps those out of the command's
 * start-up; layers still load lazily through the registry.
 */
export { applyLayers, planLayers, prepare } from './layers/run.js';
export type { LayerRunArgs, Prepared } from './layers/run.js';
export { mutateLayers } from './layers/mutate.js';
export type { MutateOptions, MutateResult } from './layers/mutate.js';
export { beginLayerRun } from './journal/layer-run.js';
