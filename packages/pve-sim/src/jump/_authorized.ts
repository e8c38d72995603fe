import { LabError } from '@lab/core';
import ssh2, { type ParsedKey } from 'ssh2';

// ssh2 is CommonJS: named value imports work under tsx but not under plain node ESM.
const { utils } = ssh2;

/** Public keys allowed to log in, parsed once from OpenSSH `authorized_keys` lines. */
export interface AuthorizedKeys {
  find(blob: Buffer): ParsedKey | undefined;
  readonly size: number;
}

export function parseAuthorizedKeys(lines: readonly string[]): AuthorizedKeys {
  const keys: ParsedKey[] = [];
  for (const raw of lines.flatMap((l) => l.split('\n'))) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // authorized_keys options (from="…",no-pty …) precede the key type; keep from the type on.
    const at = line.search(/(^|\s)(ssh-|ecdsa-|sk-)/);
    const parsed = utils.parseKey(at > 0 ? line.slice(at).trim() : line);
    if (parsed instanceof Error || Array.isArray(parsed)) {
      throw new LabError({
        code: 'LAB_SIM_JUMP_AUTHORIZED_KEY_INVALID',
        summary: 'an authorized key for the jump host is not an OpenSSH public key',
        detail: line.slice(0, 80),
        ...(parsed instanceof Error ? { cause: parsed } : {}),
      });
    }
    keys.push(parsed);
  }
  return {
    size: keys.length,
    find: (blob) => keys.find((k) => k.getPublicSSH().equals(blob)),
  };
}
