/**
 * @lab/pve — the Proxmox VE client every Proxmox-facing layer uses: proxmox-api's typed proxy
 * driven by lab's own transport, with TLS pinned to the certificate fingerprint in lab.yaml,
 * API-token or ticket auth (renewed before the 2 h expiry), PVE's form encoding, typed
 * `LabError`s with PVE's message and a hint, task waiting with progress events, retries that
 * never resend a non-idempotent call blindly, and version gates for PVE 8.0–8.4 and 9.x.
 * See adr/0070-pve-client-transport.md and docs/l0-host.md.
 */
export { createPveClient, ALREADY_EXISTS } from './client.js';
export type { PveClient, PveClientOptions, MutateOptions, MutationResult } from './client.js';
export type { TransportOptions, RequestOptions, ResendPolicy } from './transport.js';
export { PveTransport, DEFAULT_PVE_CONNECTIONS } from './transport.js';
export { splitTokenId, TOKEN_ID_RE, DEFAULT_RENEW_AFTER_MS } from './auth.js';
export type { PveAuth, TokenAuth, TicketAuth } from './auth.js';
export {
  PveError,
  PVE_ERROR_CODES,
  isPveError,
  findPveError,
  errorFromResponse,
  parsePermissionMessage,
} from './errors.js';
export type { PveErrorCode, PveCallInfo, PveErrorOptions } from './errors.js';
export { PveTaskError, waitForTask, TASK_WAIT_DEFAULTS } from './tasks.js';
export type { WaitOptions, TaskResult, TaskClock } from './tasks.js';
export { parseUpid, isUpid, isTaskSuccess } from './upid.js';
export type { Upid } from './upid.js';
export { DEFAULT_RETRY, isTransient, isSafeToResend, backoffDelay } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { parsePveVersion, pveFeatures, isSupportedVersion, assertSupportedVersion, SUPPORTED_PVE } from './version.js';
export type { PveVersion, PveFeatures } from './version.js';
export { pvePrivileges } from './privileges.js';
export { pveNumber, pveInt, pveBool, pveString, pveList, pveRecord, pveArray } from './coerce.js';
export { encodeParams, apiPath } from './_form.js';
export type { Params, ParamValue } from './_form.js';
export { normalizeFingerprint } from './_tls.js';
export { LAB_TAG, personaTag, personaOfTags, marker, isAdopted, personaOfDescription, describeVm, candidatePersona } from './lab-marks.js';
export { parseResources } from './cluster-resources.js';
export type { ResourceVm, ResourceNode } from './cluster-resources.js';
export { cloneVm, configureVm, readVmConfig, vmStatus, startVm, shutdownVm, convertToTemplate, destroyVm } from './vm-ops.js';
export type { VmRef, VmCallOptions, CloneOptions } from './vm-ops.js';
export { IMAGE_TAG_PREFIX, imageTag, templateName, IMAGES_DIR, MANIFEST_FORMAT, manifestFile } from './images.js';
export type { ImageManifest, ManifestBake, ManifestTemplate } from './images.js';
export { readClusterResources, nextFreeVmid, restoreVm, createVmSnapshot, rollbackVmSnapshot, deleteVmSnapshot, readStorageStatus, listStorageContent, deleteVolume, runVzdump, extractArchiveConfig, clusterVmids, listNodeVms, createVm, deleteVm, downloadToStorage, removeVolume, changeVmPower, readVmCurrent, pingGuestAgent, readVmPending, requestClone, resizeVmDisk, updateVmConfig, requestVmDelete, allocateVolume, readPool, createPool, deletePool } from './ops.js';
