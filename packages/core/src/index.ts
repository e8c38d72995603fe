/**
 * @lab/core — the shared vocabulary of every layer: Address, Change, Plan, Impact, Diagnostic,
 * LabError, Reporter and Secret. Layers never import each other; they meet here.
 */
export { address, parseAddress, isAddress, LAYERS, SITE_SCOPE } from './address.js';
export type { Address, AddressParts, Layer } from './address.js';
export { formatDiagnostic, formatSource, hasErrors } from './diagnostic.js';
export type { Diagnostic, Severity, SourceLocation } from './diagnostic.js';
export { LabError, isLabError, toLabError } from './errors.js';
export type { LabErrorOptions } from './errors.js';
export { Secret, SECRET_MASK, isSecret, redact } from './secret.js';
