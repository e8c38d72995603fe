import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { entryMatches, formatKnownHostsLine, parseKnownHosts } from './known-hosts.js';

/**
 * Record a host key the lab learned through a trusted channel (the guest agent, the console,
 * the cloud-init seed lab generated). Never called with a key merely presented over the network:
 * that would be trust-on-first-use, which lab refuses.
 * `key` is a blob or a `.pub` line (`ssh-ed25519 AAAA… comment`).
 * Returns `present` when the exact key is already pinned for the host.
 */
export function pinHostKey(file: string, host: string, port: number, key: Buffer | string, options: PinOptions = {}): Promise<'added' | 'present'> {
  return serialized(file, () => pin(file, host, port, key, options));
}

/** Remove every pinned key for `host:port`, like `ssh-keygen -R`. Returns how many lines went. */
export function forgetHost(file: string, host: string, port = 22): Promise<number> {
  return serialized(file, () => forget(file, host, port));
}

// Read-modify-write of one file: concurrent pins in this process (parallel bakes, parallel VMs)
// would otherwise lose each other's lines. One queue per file.
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(file) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return next;
}

async function pin(file: string, host: string, port: number, key: Buffer | string, options: PinOptions): Promise<'added' | 'present'> {
  const blob = typeof key === 'string' ? Buffer.from(key.trim().split(/\s+/)[1] ?? '', 'base64') : key;
  if (blob.length === 0) throw new TypeError('pinHostKey: not an OpenSSH public key');
  let text = await readOrEmpty(file);
  const entries = parseKnownHosts(text);
  const already = entries.some((e) => e.marker === undefined && e.key.equals(blob) && entryMatches(e, host, port));
  if (options.movesBetweenPorts === true) {
    // Lines lab wrote for this same key on this host at another port: the service moved
    // (the embedded simulator's jump host listens on a new port each run). Dropping them
    // removes no trust, and keeps the file from growing by a line per command.
    const stale = new Set(entries.filter((e) => e.marker === undefined && e.key.equals(blob) && !e.hosts.includes(',') && e.hosts.startsWith(`[${host}]:`) && !entryMatches(e, host, port)).map((e) => e.line));
    if (stale.size > 0) {
      text = text
        .split('\n')
        .filter((_, i) => !stale.has(i + 1))
        .join('\n');
      if (already) {
        await writeAtomic(file, text);
        return 'present';
      }
    }
  }
  if (already) return 'present';
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeAtomic(file, `${text}${sep}${formatKnownHostsLine(host, port, blob)}\n`);
  return 'added';
}

export interface PinOptions {
  /** The key belongs to a service whose port changes (an ephemeral listener): drop its pins on other ports of the host. */
  readonly movesBetweenPorts?: boolean;
}

async function forget(file: string, host: string, port: number): Promise<number> {
  const text = await readOrEmpty(file);
  if (text === '') return 0;
  const drop = new Set(parseKnownHosts(text).filter((e) => e.marker === undefined && entryMatches(e, host, port)).map((e) => e.line));
  if (drop.size === 0) return 0;
  const kept = text.split('\n').filter((_, i) => !drop.has(i + 1));
  await writeAtomic(file, kept.join('\n'));
  return drop.size;
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}
