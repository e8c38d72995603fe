/**
 * Whole-VM capture: Proxmox vzdump backups of a persona's VM with retention, listing and
 * restore, and template capture of a converged VM into a new image version.
 *
 * Every operation follows observe → plan (pure) → apply → re-verify and speaks @lab/core's
 * vocabulary (addresses `<persona>/capture/vm.backup[<volid>]`, `…/vm.restore[<vmid>]`,
 * `…/template[<image>@<version>]`):
 * - `captureVm(intent, ctx)` = `observeVmCapture` → `planVmCapture` → `applyVmCapture`: vzdump
 *   with the persona's mode/compress/storage and lab's notes marker (`lab:capture persona=…
 *   commit=… lab=…`), then retention (`planVmRetention`/`applyVmRetention`) that only ever
 *   deletes archives carrying that marker, newest `keep` kept, protected ones never counted.
 * - `listVmBackups` lists a persona's archives; `observeVmRestore` → `planVmRestore` →
 *   `applyVmRestore` restores one over the persona's VM (`overwrite`, PVE `force=1`, after a
 *   shutdown), as its VM again when it has none (`recreate`), or beside it (`copy`: new VMID,
 *   new MACs, lab's identity stripped so L2 never adopts it by mistake).
 * - `observeTemplateCapture` → `planTemplateCapture` → `applyTemplateCapture`: a full clone of
 *   the persona's VM boots once at a scratch address, is cleaned (`cleanCloneOverSsh`), turned
 *   into a template and recorded as `artifacts/images/<image>/<version>.json` in L1's manifest
 *   format, so L2 clones `image@version` like any built image.
 * VMs are found the way L2 finds them (tags, name, declared VMID; the description marker
 * decides). See docs/capture-vm.md and adr/0100–0104.
 */
export { vmCaptureIntent, vmCaptureEnabled, backupStorageOf } from './intent.js';
export type { VmCaptureIntent, VzdumpMode, VzdumpCompress } from './intent.js';
export { notesTemplate, parseBackupNotes } from './notes.js';
export type { LabBackupNotes } from './notes.js';
export { readLabRevision, revisionText } from './revision.js';
export type { LabRevision } from './revision.js';
export { findPersonaVm, requirePersonaVm, readCluster, markerPersona } from './persona-vm.js';
export type { PersonaVm, ClusterVm, ClusterView, FindPersonaVmOptions } from './persona-vm.js';
export { listVmBackups, readBackupStorage, parseBackupRow, newestFirst } from './backups.js';
export type { BackupArchive, BackupStorage, ListBackupsOptions } from './backups.js';
export { planVmRetention, applyVmRetention } from './retention.js';
export type { RetentionPlan, RetentionScope, RetentionContext } from './retention.js';
export { observeVmCapture, planVmCapture, applyVmCapture, captureVm, vzdumpImpact, archiveFromLog } from './capture.js';
export type { VmCaptureObservation, VmCaptureContext, VmCaptureResult, VzdumpCall } from './capture.js';
export { readArchiveConfig, parseConfigFile } from './archive-config.js';
export type { ArchiveConfig } from './archive-config.js';
export { observeVmRestore, planVmRestore } from './restore-plan.js';
export type { VmRestoreIntent, VmRestoreObservation, RestoreCall, RestoreMode } from './restore-plan.js';
export { applyVmRestore } from './restore-apply.js';
export type { VmRestoreContext, VmRestoreResult } from './restore-apply.js';
export { templateCaptureIntent, observeTemplateCapture, planTemplateCapture, bootDiskOf, TEMPLATE_VMIDS, PERSONA_KEYS } from './template-plan.js';
export type { TemplateCaptureIntent, TemplateCaptureObservation, TemplateCall } from './template-plan.js';
export { applyTemplateCapture, templateDescription } from './template-apply.js';
export type { CloneTarget, TemplateCaptureContext, TemplateCaptureResult } from './template-apply.js';
export { cleanCloneOverSsh, cleanCloneWithPersonaKey, CLEAN_SCRIPT, VERIFY_SCRIPT, parseVerify, isClean } from './template-clean.js';
export type { CleanReport, CleanOptions, PersonaKeyCleanOptions } from './template-clean.js';
export { capturedManifest, writeCapturedManifest, readCapturedManifest, manifestPath, imageTag, templateName, IMAGES_DIR, MANIFEST_FORMAT } from './manifest.js';
export type { CapturedManifest, CaptureProvenance, ManifestInput } from './manifest.js';
export { vmAddress, backupAddress, restoreAddress, templateAddress } from './_addresses.js';
