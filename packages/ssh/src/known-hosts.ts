import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The lab-managed known-hosts file, in OpenSSH's `known_hosts` format, so `ssh -o
 * UserKnownHostsFile=<file>` and `ssh-keygen -F/-R -f <file>` work on it unchanged.
 * Supported: plain and hashed (`|1|salt|hmac`) host fields, comma lists, `*`/`?` wildcards,
 * `!` negation, `[host]:port`, and the `@revoked` marker. `@cert-authority` lines are kept but
 * never match: lab pins keys, not certificate authorities.
 */
export interface KnownHostEntry {
  readonly marker?: 'cert-authority' | 'revoked';
  /** The host field exactly as written (comma list, maybe hashed). */
  readonly hosts: string;
  readonly keyType: string;
  /** The public key blob (base64-decoded). */
  readonly key: Buffer;
  /** 1-based line number, for messages that point at the file. */
  readonly line: number;
}

export interface KnownHosts {
  readonly file: string;
  readonly entries: readonly KnownHostEntry[];
  /** False when the file does not exist yet (the hint then says how to create it). */
  readonly exists: boolean;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else return;
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) return;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) return;
    out.push({ ...(marker ? { marker } : {}), hosts, keyType, key, line: i + 1 });
  });
  return out;
}

export async function loadKnownHosts(file: string): Promise<KnownHosts> {
  try {
    return { file, entries: parseKnownHosts(await readFile(file, 'utf8')), exists: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file, entries: [], exists: false };
    throw error;
  }
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(field: string, name: string): boolean {
  const [, kind, salt, hash] = field.split('|');
  if (kind !== '1' || salt === undefined || hash === undefined) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

/** Whether an entry's host field names `host:port`, with OpenSSH's negation rule. */
export function entryMatches(entry: Pick<KnownHostEntry, 'hosts'>, host: string, port = 22): boolean {
  const name = knownHostName(host, port);
  if (entry.hosts.startsWith('|')) return hashedMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (globToRegExp(p).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export interface HostKeyLookup {
  /** Pinned keys for this host (markers excluded). */
  readonly pinned: readonly KnownHostEntry[];
  readonly revoked: readonly KnownHostEntry[];
}

export function lookupHost(known: KnownHosts, host: string, port = 22): HostKeyLookup {
  const pinned: KnownHostEntry[] = [];
  const revoked: KnownHostEntry[] = [];
  for (const e of known.entries) {
    if (e.marker === 'cert-authority' || !entryMatches(e, host, port)) continue;
    if (e.marker === 'revoked') revoked.push(e);
    else pinned.push(e);
  }
  return { pinned, revoked };
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`…). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:…` as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { readonly status: 'trusted'; readonly entry: KnownHostEntry }
  | { readonly status: 'unknown' }
  | { readonly status: 'changed'; readonly entries: readonly KnownHostEntry[] }
  | { readonly status: 'revoked'; readonly entry: KnownHostEntry };

/** Decide about a presented host key, as OpenSSH's StrictHostKeyChecking=yes would. */
export function verifyHostKey(known: KnownHosts, host: string, port: number, presented: Buffer): HostKeyVerdict {
  const { pinned, revoked } = lookupHost(known, host, port);
  const bad = revoked.find((e) => e.key.equals(presented));
  if (bad) return { status: 'revoked', entry: bad };
  const ok = pinned.find((e) => e.key.equals(presented));
  if (ok) return { status: 'trusted', entry: ok };
  return pinned.length === 0 ? { status: 'unknown' } : { status: 'changed', entries: pinned };
}

/** One known_hosts line for `host:port` and a key blob. */
export function formatKnownHostsLine(host: string, port: number, blob: Buffer): string {
  return `${knownHostName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

/** Key types pinned for a host, to offer only those in the key exchange (as OpenSSH orders them). */
export function pinnedKeyTypes(lookup: HostKeyLookup): string[] {
  const types = new Set<string>();
  for (const e of lookup.pinned) {
    types.add(e.keyType);
    // An RSA key can be presented with either SHA-2 signature algorithm.
    if (e.keyType === 'ssh-rsa') {
      types.add('rsa-sha2-512');
      types.add('rsa-sha2-256');
    }
  }
  return [...types];
}
