/**
 * @lab/intent — what the lab should be, read from Git. `lab.yaml` describes the site
 * (Proxmox endpoint, nodes, storages, networks, images, secrets, backup repositories);
 * `personas/<name>/persona.yaml` describes one machine, composed from mixins. Loading keeps
 * source positions, so every problem reads `file:line:col path: message` with a hint.
 * Schemas are zod v4; JSON Schemas and the reference doc are generated from them.
 */
export { loadSite, SITE_FILE } from './load-site.js';
export { loadPersona, listPersonaNames } from './load-persona.js';
export { loadLab } from './load-lab.js';
export { readLabFile } from './read-lab-file.js';
export { effectiveFileMode, worldAccessible } from './schema/_files.js';
export { LIMITS as INTENT_LIMITS } from './_limits.js';
export { collectSecretRefs } from './collect-secrets.js';
export { isSecretRef, SECRET_NAME } from './secret-ref.js';
export type { SecretRef, SecretRefUse } from './secret-ref.js';
export { parseSize, parseDuration, formatSize, formatDuration } from './units.js';
export { jsonSchemas } from './json-schema.js';
export type { JsonSchemas } from './json-schema.js';
export { renderPersonaReference } from './reference-doc.js';
export { generatedFiles } from './generated.js';
export type { GeneratedFile } from './generated.js';
export { profileHash, bakedVersion, BAKE_SOURCE_PREFIX } from './_bake.js';
export { MERGE_RULES } from './merge-rules.js';
export { diskSlots, guestDiskPath } from './disk-slots.js';
export type { MergeRule, KeyedRule, SetRule } from './merge-rules.js';
export type {
  BakedImage,
  Bridge,
  Capture,
  DeepReadonly,
  Disk,
  ImageRef,
  Lab,
  LoadedPersona,
  LoadedSite,
  Location,
  Nic,
  Os,
  Persona,
  RawSite,
  Repository,
  Site,
  SiteImage,
  Stack,
  Storage,
  Vm,
  Workloads,
} from './types.js';
export { parseComposePort } from './compose-ports.js';
export type { ComposePort } from './compose-ports.js';
