import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { encrypt as shaCrypt } from 'unixcrypt';
import type { SecretRefUse } from '@lab/intent';

/**
 * What a referenced secret must look like for what reads it. A login's `passwordHash` goes to
 * `chpasswd -e` (crypt(3)); a `…-hash` elsewhere is a bcrypt hash (AdGuard Home, Caddy); API keys
 * are 32 hex digits (the *arr apps, Jellyfin); a `…-url` is a URL; the rest are passwords/tokens.
 */
export type SecretShape = 'crypt-hash' | 'bcrypt-hash' | 'api-key' | 'url' | 'token';

export function secretShape(use: Pick<SecretRefUse, 'name' | 'path'>): SecretShape {
  const leaf = use.name.split('/').pop()!;
  if (/(^|\.)passwordHash$/.test(use.path)) return 'crypt-hash';
  if (/-hash$/.test(leaf) || /_hash$|Hash$/.test(use.path)) return 'bcrypt-hash';
  if (/-url$/.test(leaf)) return 'url';
  if (/-(api-)?key$/.test(leaf)) return 'api-key';
  return 'token';
}

/** A generated value; for a hash, the password it was made from (shown once, never stored). */
export interface GeneratedSecret {
  readonly value: string;
  readonly password?: string;
  /** Why the value may need the operator's attention (a URL that points nowhere useful yet). */
  readonly note?: string;
}

const password = (): string => randomBytes(18).toString('base64url');

/** A fresh random value of the shape, from the OS's CSPRNG. */
export function generateSecretValue(shape: SecretShape, name: string): GeneratedSecret {
  switch (shape) {
    case 'crypt-hash': {
      const pw = password();
      return { value: shaCrypt(pw, `$6$${randomBytes(12).toString('base64url').replace(/[-_]/g, '.')}`), password: pw };
    }
    case 'bcrypt-hash': {
      const pw = password();
      return { value: bcrypt.hashSync(pw, 10), password: pw };
    }
    case 'api-key':
      return { value: randomBytes(16).toString('hex') };
    case 'url':
      // A topic URL is a secret because its name is: a random topic on the public ntfy server
      // works as is; point it at your own server with `lab secret set`.
      return name.includes('ntfy')
        ? { value: `https://ntfy.sh/lab-${randomBytes(12).toString('hex')}`, note: 'a random topic on ntfy.sh; set your own server’s URL if you run one' }
        : { value: `https://example.invalid/${randomBytes(12).toString('hex')}`, note: 'a placeholder URL: set the real one' };
    case 'token':
      return { value: randomBytes(24).toString('base64url') };
  }
}

/** What a prompted value must look like, or undefined when it fits the shape. */
export function shapeProblem(shape: SecretShape, value: string): string | undefined {
  if (value.trim() === '') return 'empty';
  if (shape === 'crypt-hash' && !/^\$(6|5|y|2[aby])\$/.test(value)) return 'expected a crypt(3) hash such as `mkpasswd -m sha-512` prints ($6$…, $y$…)';
  if (shape === 'bcrypt-hash' && !/^\$2[aby]\$\d\d\$/.test(value)) return 'expected a bcrypt hash ($2a$/$2b$/$2y$…), e.g. from `htpasswd -nbBC 10 "" <password>`';
  if (shape === 'url' && !URL.canParse(value)) return 'expected a URL';
  return undefined;
}
