import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Secret } from '@lab/core';
import { isErrno } from './_fs.js';
import { badIdentity, identityExists, identityInRepo, noIdentity } from './errors.js';

/** The private keys of one key file, held only as Secrets, with their public keys. */
export interface IdentitySet {
  readonly file: string;
  readonly identities: readonly Secret<string>[];
  /** One age public key per identity, in file order. */
  readonly recipients: readonly string[];
}

/**
 * Where lab looks for the operator's private key: LAB_AGE_KEY_FILE, else
 * $XDG_CONFIG_HOME/lab/age.key, else ~/.config/lab/age.key. Always outside the repository.
 */
export function defaultIdentityFile(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['LAB_AGE_KEY_FILE'];
  if (explicit) return path.resolve(explicit);
  const xdg = env['XDG_CONFIG_HOME'];
  // The XDG spec says relative values are invalid and must be ignored.
  const configHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config');
  return path.join(configHome, 'lab', 'age.key');
}

/**
 * A new X25519 identity. X25519 rather than the post-quantum hybrid because Debian's `age` 1.1
 * cannot read hybrid keys, and every secret must stay readable with the stock CLI.
 */
export async function generateIdentity(): Promise<{ identity: Secret<string>; recipient: string }> {
  // age-encryption loads on first use (adr/0186), as in _age.ts.
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  return { identity: new Secret(identity), recipient: await identityToRecipient(identity) };
}

/**
 * Write `identity` in age-keygen's format (`# created`, `# public key` comments, then the key),
 * mode 0600, in a 0700 directory. Refuses to overwrite anything already at `file`, because a
 * replaced key silently orphans every secret encrypted to it.
 */
export async function writeIdentityFile(file: string, identity: Secret<string>, options: { readonly repository?: string } = {}): Promise<void> {
  const key = identity.reveal();
  const recipient = await recipientOf(key, file, 1);
  const target = path.resolve(file);
  assertIdentityLocation(target, options.repository);
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const text =
    `# created: ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}\n` +
    `# public key: ${recipient}\n` +
    `${key}\n`;
  let handle: fs.FileHandle;
  try {
    // 'wx' is O_CREAT|O_EXCL: fails on any existing file or symlink, with no check-then-write race.
    handle = await fs.open(target, 'wx', 0o600);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) throw identityExists(target);
    throw error;
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A private key never goes where Git can pick it up (issue #14): not inside the lab repository,
 * and not inside any other Git working tree (a dotfiles repository at ~ included) unless Git
 * ignores the path there.
 */
export function assertIdentityLocation(file: string, repository?: string): void {
  const target = path.resolve(file);
  if (repository !== undefined && inside(target, path.resolve(repository))) throw identityInRepo(target, path.resolve(repository));
  const tree = workTreeOf(path.dirname(target));
  if (tree === undefined) return;
  const ignored = spawnSync('git', ['-C', tree, 'check-ignore', '-q', '--no-index', path.relative(tree, target)], { stdio: 'ignore' });
  if (ignored.status !== 0) throw identityInRepo(target, tree);
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** The nearest enclosing directory holding `.git` (a directory, or a file for worktrees). */
function workTreeOf(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * Read every identity in an age-keygen key file (several are allowed, one per line; `#` lines
 * and blank lines are ignored). Throws LAB_SECRET_NO_IDENTITY if the file is missing or holds
 * none, LAB_SECRET_BAD_IDENTITY naming only the line number of a line that is not a key.
 */
export async function loadIdentities(file: string = defaultIdentityFile()): Promise<IdentitySet> {
  const target = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(target, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) throw noIdentity(target, 'missing', error);
    throw error;
  }
  const identities: Secret<string>[] = [];
  const recipients: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('AGE-PLUGIN-')) throw badIdentity(target, i + 1, 'age plugin identities are not supported');
    if (!line.startsWith('AGE-SECRET-KEY-')) throw badIdentity(target, i + 1, 'not an AGE-SECRET-KEY- line');
    recipients.push(await recipientOf(line, target, i + 1));
    identities.push(new Secret(line));
  }
  if (identities.length === 0) throw noIdentity(target, 'empty');
  return { file: target, identities, recipients };
}

async function recipientOf(key: string, file: string, line: number): Promise<string> {
  const { identityToRecipient } = await import('age-encryption');
  try {
    return await identityToRecipient(key);
  } catch {
    // The library's message is generic; never pass the key itself into an error.
    throw badIdentity(file, line, 'malformed key');
  }
}
