/**
 * @lab/l4-workload — layer L4: Docker Compose stacks in a persona's guest, over SSH.
 *
 * render (compose-spec schema + lab's checks, secrets resolved, content hash) → observe (one
 * batched script per host: releases, `current`, file digests, containers with labels, compose
 * version) → plan (pure: create/update/delete/noop per stack, drift, impact) → apply (atomic
 * release upload, `up -d --remove-orphans`, health gate with automatic rollback to the last-good
 * release) → re-verify. The CLI wires `lab plan|check|apply --layer l4` to these functions.
 * Image overrides (a mirror, an air-gapped copy, the test lane's local builds) rewrite `image:`
 * at render time and show in the plan.
 */
export { renderWorkloads } from './render.js';
export { projectWorkloads } from './projection.js';
export type { RenderOptions, RenderResult, SecretSource } from './render.js';
export { parseCompose } from './validate.js';
export type { ComposeSource, ParsedCompose } from './validate.js';
export { labChecks, isFloatingImage, publishedPorts, parseMount } from './checks.js';
export type { CheckedCompose, LabCheckOptions } from './checks.js';
export { observeWorkloads, observeScript, parseObservation } from './observe.js';
export type { ObserveOptions } from './observe.js';
export { planWorkloads, stackAddress, basisKey, stackFingerprint } from './plan.js';
export type { PlanWorkloadsOptions, StackAfter } from './plan.js';
export { applyWorkloads, composeFor } from './apply.js';
export type { ApplyWorkloadsOptions, ApplyWorkloadsResult, StackOutcome } from './apply.js';
export { healthScript, parseHealth, parseHealthStatus } from './health.js';
export type { HealthInput, HealthResult } from './health.js';
export { workloadDiffs } from './render-plan.js';
export { checkImageOverrides, resolveImage, overrideImages } from './image-overrides.js';
export type { ImageOverrides, ImageOverrideNote } from './image-overrides.js';
export { readImageOverrides } from './image-overrides-file.js';
export { imagesOfStack, normalizeRef, pushesFor, pushDiagnostics, formatBytes } from './images.js';
export type { ImagePush, WorkstationImages } from './images.js';
export { pushImage, diskFullError } from './push.js';
export type { PushOptions } from './push.js';
export { dockerImageSource, parseInspect } from './workstation-docker.js';
export type { ImageSource } from './workstation-docker.js';
export { standInsOf } from './stand-ins.js';
export type { StandInUse } from './stand-ins.js';
export { remoteDetail } from './remote-detail.js';
export { ensureLocalImages, localImagesOverrides, LOCAL_IMAGES_DIR } from './local-images.js';
export type { EnsureLocalImagesOptions, LocalImagesResult, LocalImage } from './local-images.js';
export { L4_ERROR_CODES } from './errors.js';
export type { L4ErrorCode } from './errors.js';
export { LABEL_STACK, LABEL_SERVICE_HASH, MANIFEST_FILE } from './types.js';
export type {
  DesiredWorkloads,
  RenderedStack,
  ReleaseFile,
  ReleaseManifest,
  StackRecord,
  StackHealth,
  HealthProbe,
  ObservedContainer,
  ObservedStack,
  WorkloadObservation,
  WorkstationImage,
  ImageDelivery,
} from './types.js';
