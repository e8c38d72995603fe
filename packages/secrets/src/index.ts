/**
 * @lab/secrets — the lab's secrets live in Git only as age-encrypted files
 * (`secrets/<name>.age`, ASCII-armored), encrypted to the recipients listed in lab.yaml and
 * readable with the stock `age` CLI. They are decrypted only in memory, into `Secret<string>`,
 * with the operator's identity from a key file outside the repository (LAB_AGE_KEY_FILE, else
 * ~/.config/lab/age.key). See docs/secrets.md and adr/0040-secrets-in-git-with-age.md.
 */
export { openSecretStore } from './store.js';
export type { SecretStore, SecretStoreOptions, SecretEntry, SecretEditor } from './store.js';
export { generateIdentity, writeIdentityFile, loadIdentities, defaultIdentityFile, assertIdentityLocation } from './identity.js';
export type { IdentitySet } from './identity.js';
export { assertSecretName, isSecretName, secretFile, SECRET_FILE_SUFFIX } from './names.js';
export { SECRET_ERROR_CODES } from './errors.js';
export type { SecretErrorCode } from './errors.js';
