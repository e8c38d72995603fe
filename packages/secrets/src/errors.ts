import { LabError } from '@lab/core';

/**
 * Stable error codes of @lab/secrets. Codes are documented in docs/secrets.md and never renamed.
 * No constructor here takes a plaintext value, so no message can carry one.
 */
export type SecretErrorCode =
  | 'LAB_SECRET_NOT_FOUND'
  | 'LAB_SECRET_NO_IDENTITY'
  | 'LAB_SECRET_BAD_IDENTITY'
  | 'LAB_SECRET_IDENTITY_EXISTS'
  | 'LAB_SECRET_IDENTITY_IN_REPO'
  | 'LAB_SECRET_DECRYPT'
  | 'LAB_SECRET_MALFORMED'
  | 'LAB_SECRET_NO_RECIPIENTS'
  | 'LAB_SECRET_BAD_RECIPIENT'
  | 'LAB_SECRET_BAD_NAME'
  | 'LAB_SECRET_WRITE';

export const SECRET_ERROR_CODES: readonly SecretErrorCode[] = [
  'LAB_SECRET_NOT_FOUND',
  'LAB_SECRET_NO_IDENTITY',
  'LAB_SECRET_BAD_IDENTITY',
  'LAB_SECRET_IDENTITY_EXISTS',
  'LAB_SECRET_IDENTITY_IN_REPO',
  'LAB_SECRET_DECRYPT',
  'LAB_SECRET_MALFORMED',
  'LAB_SECRET_NO_RECIPIENTS',
  'LAB_SECRET_BAD_RECIPIENT',
  'LAB_SECRET_BAD_NAME',
  'LAB_SECRET_WRITE',
];

const INIT_HINT =
  'run `lab secret init` to create a key at the default location, or set LAB_AGE_KEY_FILE to an existing age-keygen key file';

export function notFound(name: string, file: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_NOT_FOUND',
    summary: `secret "${name}" does not exist`,
    detail: `expected ${file}`,
    hint: `lab secret set ${name}`,
  });
}

export function noIdentity(file: string, why: 'missing' | 'empty', cause?: unknown): LabError {
  return new LabError({
    code: 'LAB_SECRET_NO_IDENTITY',
    summary:
      why === 'missing' ? `no age identity file at ${file}` : `the age identity file ${file} holds no identity`,
    detail:
      'lab reads your private key from LAB_AGE_KEY_FILE, else $XDG_CONFIG_HOME/lab/age.key, else ~/.config/lab/age.key',
    hint: INIT_HINT,
    cause,
  });
}

/** `line` is a line number only: the line itself may be key material. */
export function badIdentity(file: string, line: number, reason: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_BAD_IDENTITY',
    summary: `line ${line} of ${file} is not a usable age identity (${reason})`,
    detail: 'lab understands native age keys (AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…); lines starting with # are comments',
    hint: 'fix or remove that line; `age-keygen -o FILE` writes a valid key file',
  });
}

export function identityExists(file: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_IDENTITY_EXISTS',
    summary: `refusing to overwrite the existing identity file ${file}`,
    detail: 'overwriting it would lose the only key able to decrypt the secrets encrypted to it',
    hint: `keep it (its public key is on a "# public key:" line: grep 'public key' ${file}), or move it away first`,
  });
}

export function identityInRepo(file: string, root: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_IDENTITY_IN_REPO',
    summary: `the age identity file ${file} is inside the Git working tree ${root}`,
    detail: 'a private key inside a working tree is one `git add .` away from being published',
    hint: 'move it out, e.g. to ~/.config/lab/age.key, and point LAB_AGE_KEY_FILE at it if you chose another place',
  });
}

export function decryptFailed(name: string, file: string, identityFile: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_DECRYPT',
    summary: `secret "${name}" is not encrypted to your identity`,
    detail: `none of the identities in ${identityFile} is a recipient of ${file}`,
    hint: 'add your public key (age-keygen -y on your key file) to the recipients in lab.yaml, then ask someone who can read the secrets to run `lab secret rotate`',
  });
}

export function malformed(name: string, file: string, cause?: unknown): LabError {
  return new LabError({
    code: 'LAB_SECRET_MALFORMED',
    summary: `secret "${name}" is not a valid age file or is damaged`,
    detail: `${file}: ${cause instanceof Error ? cause.message : 'unreadable'}`,
    hint: `restore it from Git (git log -- ${file}) or replace it: lab secret set ${name}`,
    cause,
  });
}

export function noRecipients(): LabError {
  return new LabError({
    code: 'LAB_SECRET_NO_RECIPIENTS',
    summary: 'no recipients to encrypt secrets to',
    detail: 'secrets are encrypted to the age public keys listed under secrets.recipients in lab.yaml',
    hint: 'add your public key (printed by `lab secret init`, or `age-keygen -y KEYFILE`) to secrets.recipients in lab.yaml',
  });
}

export function badRecipient(index: number, recipient: string, reason: string, cause?: unknown): LabError {
  return new LabError({
    code: 'LAB_SECRET_BAD_RECIPIENT',
    // A pasted private key must not be echoed back into terminals and CI logs.
    summary: `recipient #${index + 1}${/^AGE-SECRET-KEY-/i.test(recipient) ? '' : ` ("${printable(recipient)}")`} cannot be used: ${reason}`,
    detail: 'recipients are native X25519 age public keys (age1…, 62 characters), as printed by age-keygen',
    hint: 'copy the "# public key:" line of the person\'s key file (or `age-keygen -y KEYFILE`) into lab.yaml',
    cause,
  });
}

export function badName(name: string, reason: string): LabError {
  return new LabError({
    code: 'LAB_SECRET_BAD_NAME',
    summary: `"${printable(name)}" is not a valid secret name: ${reason}`,
    detail:
      'a name is one or more "/"-separated segments of lowercase letters, digits, ".", "_" and "-", each starting with a letter or digit (e.g. media/jellyfin-api-key)',
    hint: 'choose a name like media/jellyfin-api-key',
  });
}

export function writeFailed(what: string, cause: unknown): LabError {
  return new LabError({
    code: 'LAB_SECRET_WRITE',
    summary: `could not write ${what}; no secret file was changed`,
    detail: cause instanceof Error ? cause.message : undefined,
    hint: 'check permissions and free space of the secrets directory, then retry',
    cause,
  });
}

/** Names come from users; keep control characters out of terminal output. */
function printable(text: string): string {
  const clipped = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return clipped.replace(/[\u0000-\u001f\u007f]/g, '?');
}
