/**
 * @lab/l1-image — layer L1: the image catalogue of lab.yaml as version-stamped Proxmox
 * templates. Per image version and node it downloads the cloud image with `download-url`
 * (Proxmox verifies the SHA-256/512), creates a VM with the disk imported (`import-from`), a
 * cloud-init drive, serial console and guest agent, and converts it to a template; idempotent
 * by observing the cluster (name, tags, provenance in the description). A manifest per
 * version in `artifacts/images/` records provenance; channels (`stable`, `canary`) are moved
 * by promotion; `resolveImage` tells L2 which template `image@stable` means. A baked image
 * (adr/0145) is a full clone of its base converged with an L3 profile through the `BakePorts`
 * the engine hands over, cleaned and templated; its manifest records base, profile hash and
 * the installed packages.
 * See docs/l1-image.md and adr/0080–0084.
 */
export { desiredTemplates, checkSelection, checksumText } from './intent.js';
export type { DesiredTemplate, DesiredBake, ImageSelection } from './intent.js';
export { observeImages, isBuildVm } from './observe.js';
export type { ImageObservation, ObservedVm, ObserveImagesOptions } from './observe.js';
export { assessTemplate, buildVmsOf, usersOf } from './assess.js';
export type { TemplateState } from './assess.js';
export { planImages, basisOf, L1_BASIS_KEY } from './plan.js';
export type { ImageChangeAfter, NodeWork, PlanImagesOptions } from './plan.js';
export { applyImages } from './apply.js';
export { bakeTemplate, bakeHostname, bakeSnippetName, baseTemplateOn } from './bake.js';
export type { BakePorts, BakeTarget, ConvergeResult, BakeOutcome, BakeContext } from './bake.js';
export type { ApplyImagesContext, ApplyImagesResult } from './apply.js';
export { planImageLayer, applyImageLayer, observeSite } from './layer.js';
export type { ImageLayerOptions } from './layer.js';
export { manifestFromObservation } from './record.js';
export {
  loadImageCatalog,
  findManifest,
  writeManifest,
  writeChannels,
  removeManifest,
  manifestFile,
  channelsFile,
  ARTIFACTS_DIR,
  CHANNELS,
  EMPTY_CATALOG,
  MANIFEST_FORMAT,
} from './manifest.js';
export type { ImageManifest, ManifestBake, ManifestTemplate, ImageCatalog, ChannelsFile, ChannelPointer, Channel } from './manifest.js';
export { resolveImage, channelVersion, templateOn, isChannel } from './resolve.js';
export type { ResolvedImage, ImageRefInput } from './resolve.js';
export { promoteImage } from './promote.js';
export type { PromoteResult } from './promote.js';
export { listImages } from './list.js';
export type { ImageVersionRow } from './list.js';
export { planPrune, applyPrune } from './prune.js';
export type { PrunePlan, PruneTarget, PruneRefusal } from './prune.js';
export {
  TEMPLATE_VMID_RANGE,
  TEMPLATE_TAG,
  imageTag,
  templateName,
  importFilename,
  imageAddress,
  renderProvenance,
  parseProvenance,
} from './naming.js';
export type { Provenance } from './naming.js';
