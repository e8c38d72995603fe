import path from 'node:path';
import { badName } from './errors.js';

/** File extension of every secret file: `media/jellyfin-api-key` ↔ `media/jellyfin-api-key.age`. */
export const SECRET_FILE_SUFFIX = '.age';

const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_NAME = 200;
const MAX_SEGMENT = 100;

/**
 * Throws LAB_SECRET_BAD_NAME unless `name` is a valid secret name. Names are lowercase so they
 * map to the same file on case-insensitive file systems (macOS laptops) as on Linux.
 */
export function assertSecretName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw badName(String(name ?? ''), 'it is empty');
  if (name.length > MAX_NAME) throw badName(name, `it is longer than ${MAX_NAME} characters`);
  if (name.startsWith('/')) throw badName(name, 'it must be relative (no leading "/")');
  if (name.endsWith('/')) throw badName(name, 'it must not end with "/"');
  if (name.includes('\\')) throw badName(name, 'use "/" to separate segments, not "\\"');
  for (const segment of name.split('/')) {
    if (segment === '') throw badName(name, 'it has an empty segment ("//")');
    if (segment === '.' || segment === '..' || segment.includes('..'))
      throw badName(name, '".." and "." segments are not allowed');
    if (segment.length > MAX_SEGMENT) throw badName(name, `a segment is longer than ${MAX_SEGMENT} characters`);
    if (!SEGMENT.test(segment))
      throw badName(
        name,
        /[A-Z]/.test(segment)
          ? 'use lowercase letters only'
          : 'segments use a-z, 0-9, ".", "_" and "-", and start with a letter or digit',
      );
  }
  if (name.endsWith(SECRET_FILE_SUFFIX)) throw badName(name, `leave out the "${SECRET_FILE_SUFFIX}" suffix`);
}

export function isSecretName(name: string): boolean {
  try {
    assertSecretName(name);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the file that holds `name` under the secrets directory `dir`. */
export function secretFile(dir: string, name: string): string {
  assertSecretName(name);
  return path.join(dir, ...name.split('/')) + SECRET_FILE_SUFFIX;
}

/** The secret name for a file path relative to the secrets directory, or undefined if it is not one. */
export function nameOfFile(relative: string): string | undefined {
  if (!relative.endsWith(SECRET_FILE_SUFFIX)) return undefined;
  const name = relative.slice(0, -SECRET_FILE_SUFFIX.length).split(path.sep).join('/');
  return isSecretName(name) ? name : undefined;
}
