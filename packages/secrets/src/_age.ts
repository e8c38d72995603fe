import type { Secret } from '@lab/core';

/**
 * age-encryption and its curves load on first use (adr/0186): opening a store, listing or
 * checking names costs nothing, so commands that decrypt no secret start faster.
 */
const age = () => import('age-encryption');

const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const BINARY_MAGIC = 'age-encryption.org/';

export type AgeEncoding = 'armored' | 'binary';

/** Thrown by `decryptFile` when no identity matches; the caller turns it into LAB_SECRET_DECRYPT. */
export class NoMatchingIdentity extends Error {
  constructor() {
    super('no identity matched any of the file recipients');
    this.name = 'NoMatchingIdentity';
  }
}

/** Which of the two age encodings `bytes` is in, or undefined if it is neither. */
export function detectEncoding(bytes: Uint8Array): AgeEncoding | undefined {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (head.startsWith(ARMOR_BEGIN)) return 'armored';
  if (head.startsWith(BINARY_MAGIC)) return 'binary';
  return undefined;
}

/** The binary age file inside `bytes`, which may be armored (as lab writes) or binary (as `age` writes by default). */
export async function toBinary(bytes: Uint8Array): Promise<Uint8Array> {
  const encoding = detectEncoding(bytes);
  if (encoding === 'armored') return (await age()).armor.decode(new TextDecoder().decode(bytes));
  if (encoding === 'binary') return bytes;
  throw new Error('not an age file: neither armored nor binary age header');
}

/**
 * Encrypt to every recipient and armor the result, so files in Git diff as text.
 * Recipients must already be validated (see `parseRecipients`).
 */
export async function encryptArmored(plaintext: Secret<string>, recipients: readonly string[]): Promise<string> {
  const { Encrypter, armor } = await age();
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return armor.encode(await e.encrypt(plaintext.reveal()));
}

/** Decrypt an age file (armored or binary) with the given identities. */
export async function decryptFile(bytes: Uint8Array, identities: readonly Secret<string>[]): Promise<string> {
  const binary = await toBinary(bytes);
  const { Decrypter } = await age();
  const d = new Decrypter();
  for (const i of identities) d.addIdentity(i.reveal());
  try {
    return await d.decrypt(binary, 'text');
  } catch (error) {
    // age-encryption signals "not for you" only through this message; everything else is damage.
    if (error instanceof Error && /no identity matched/.test(error.message)) throw new NoMatchingIdentity();
    throw error;
  }
}

/**
 * The first recipient lab cannot encrypt to, checked before any file is touched so a typo in
 * lab.yaml fails fast instead of half-way through a rotate. Only X25519 (`age1…`) is accepted:
 * Debian's age 1.1 cannot read post-quantum or tag stanzas, and age-encryption would silently mix
 * hybrid with classic recipients, which voids the post-quantum protection (ADR 0040).
 */
export async function findBadRecipient(
  recipients: readonly string[],
): Promise<{ index: number; reason: string; error?: unknown } | undefined> {
  const { Encrypter } = await age();
  for (const [index, r] of recipients.entries()) {
    if (/^AGE-SECRET-KEY-/i.test(r))
      return { index, reason: 'this is a PRIVATE key, not a public one: delete it from lab.yaml and treat it as leaked' };
    if (/^age1(pq|tag|tagpq)1/.test(r))
      return { index, reason: 'post-quantum and tag recipients are not supported yet (the age CLI 1.1 cannot read them)' };
    if (!r.startsWith('age1')) return { index, reason: 'it does not start with age1' };
    try {
      new Encrypter().addRecipient(r);
    } catch (error) {
      return { index, reason: 'it is not a valid bech32 X25519 public key', error };
    }
  }
  return undefined;
}

/**
 * Number of recipient stanzas in the header, read without decrypting. The header is plain text
 * (`-> TYPE args` lines up to `---`), so this is cheap. Undefined if the header is unreadable.
 */
export async function countRecipientStanzas(bytes: Uint8Array): Promise<number | undefined> {
  let binary: Uint8Array;
  try {
    binary = await toBinary(bytes);
  } catch {
    return undefined;
  }
  const end = findHeaderEnd(binary);
  if (end < 0) return undefined;
  const header = new TextDecoder().decode(binary.subarray(0, end));
  let count = 0;
  for (const line of header.split('\n')) {
    // Implementations may add "grease" stanzas of random types to keep parsers honest.
    if (line.startsWith('-> ') && !/^-> \S*grease/.test(line)) count++;
  }
  return count;
}

function findHeaderEnd(binary: Uint8Array): number {
  const marker = new TextEncoder().encode('\n---');
  outer: for (let i = 0; i + marker.length <= binary.length; i++) {
    for (let j = 0; j < marker.length; j++) if (binary[i + j] !== marker[j]) continue outer;
    return i + 1;
  }
  return -1;
}
