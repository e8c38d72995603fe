import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { encrypt as sha256crypt } from 'unixcrypt';

/** Stored login password: `scrypt$<salt>$<hex>`. */
export function hashPassword(password: string, salt = randomBytes(16).toString('hex')): string {
  return `scrypt$${salt}$${scryptSync(password, salt, 32).toString('hex')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [kind, salt, hex] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hex) return false;
  const want = Buffer.from(hex, 'hex');
  const got = scryptSync(password, salt, want.length);
  return timingSafeEqual(want, got);
}

/** True for crypt(3) hashes PVE leaves untouched (`$1$`, `$5$`, `$6$`, `$y$`…). */
export function isCryptHash(value: string): boolean {
  return /^\$(?:[156]|2[abxy]?|y|gy|7)\$/.test(value);
}

/** PVE's `encrypt_pw` for `cipassword`: SHA-256 crypt (`$5$<8 char salt>$…`). */
export function cryptPassword(password: string, salt: string): string {
  return sha256crypt(password, `$5$${salt.replace(/\+/g, 'X').slice(0, 8)}`);
}
