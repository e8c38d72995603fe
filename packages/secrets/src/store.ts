import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LabError, Secret } from '@lab/core';
import { NoMatchingIdentity, countRecipientStanzas, decryptFile, encryptArmored, findBadRecipient } from './_age.js';
import { isErrno, pruneEmptyDirs, readIfExists, syncDir, writeAtomic, writeTemp } from './_fs.js';
import { badRecipient, decryptFailed, identityInRepo, malformed, noRecipients, notFound, writeFailed } from './errors.js';
import { defaultIdentityFile, loadIdentities, type IdentitySet } from './identity.js';
import { nameOfFile, secretFile } from './names.js';

export interface SecretStoreOptions {
  /** Repository root (where lab.yaml lives). */
  readonly root: string;
  /** Secrets directory, relative to `root`. Default `secrets`. */
  readonly dir?: string;
  /** age public keys from lab.yaml; every write encrypts to all of them. */
  readonly recipients: readonly string[];
  /** Private key file; default from `defaultIdentityFile()`. Must lie outside `root`. */
  readonly identityFile?: string;
}

export interface SecretEntry {
  readonly name: string;
  readonly file: string;
  /** Recipient stanzas in the file header (read without decrypting); undefined if unreadable. */
  readonly recipients: number | undefined;
  readonly mtime: Date;
}

/** Gets the current plaintext, returns the new one. The CLI's `lab secret edit` supplies it. */
export type SecretEditor = (current: Secret<string>) => string | Secret<string> | Promise<string | Secret<string>>;

export interface SecretStore {
  readonly root: string;
  /** Absolute secrets directory. */
  readonly dir: string;
  readonly recipients: readonly string[];
  readonly identityFile: string;
  /** The file that holds (or would hold) `name`. */
  fileOf(name: string): string;
  list(): Promise<SecretEntry[]>;
  has(name: string): Promise<boolean>;
  get(name: string): Promise<Secret<string>>;
  set(name: string, value: string | Secret<string>): Promise<void>;
  remove(name: string): Promise<void>;
  /** Re-encrypt every secret to the current recipients; all files change or none does. */
  rotate(): Promise<{ rotated: string[] }>;
  /** Decrypt, let `editor` change the plaintext, encrypt. Unchanged text rewrites nothing. */
  edit(name: string, editor: SecretEditor, options?: { readonly create?: boolean }): Promise<{ changed: boolean }>;
}

/**
 * A store of age-encrypted secrets under `<root>/<dir>`. Opening touches no file; reads need
 * the identity file, writes need recipients.
 */
export function openSecretStore(options: SecretStoreOptions): SecretStore {
  const root = path.resolve(options.root);
  const dir = path.resolve(root, options.dir ?? 'secrets');
  const identityFile = path.resolve(options.identityFile ?? defaultIdentityFile());
  if (isInside(identityFile, root)) throw identityInRepo(identityFile, root);
  const recipients = Object.freeze([...options.recipients]);
  const fileOf = (name: string): string => secretFile(dir, name);

  async function checkedRecipients(): Promise<readonly string[]> {
    if (recipients.length === 0) throw noRecipients();
    const bad = await findBadRecipient(recipients);
    if (bad) throw badRecipient(bad.index, recipients[bad.index] ?? '', bad.reason, bad.error);
    return recipients;
  }

  async function decryptOne(name: string, file: string, bytes: Uint8Array, ids: IdentitySet): Promise<Secret<string>> {
    try {
      return new Secret(await decryptFile(bytes, ids.identities));
    } catch (error) {
      if (error instanceof NoMatchingIdentity) throw decryptFailed(name, file, ids.file);
      throw malformed(name, file, error);
    }
  }

  async function readSecretFile(name: string): Promise<{ file: string; bytes: Uint8Array }> {
    const file = fileOf(name);
    const bytes = await readIfExists(file);
    if (bytes === undefined) throw notFound(name, file);
    return { file, bytes };
  }

  async function write(name: string, value: Secret<string>): Promise<void> {
    const file = fileOf(name);
    const armored = await encryptArmored(value, await checkedRecipients());
    try {
      await writeAtomic(file, armored);
    } catch (error) {
      throw writeFailed(file, error);
    }
  }

  async function list(): Promise<SecretEntry[]> {
    const entries: SecretEntry[] = [];
    for (const relative of await walk(dir)) {
      const name = nameOfFile(relative);
      if (name === undefined) continue;
      const file = path.join(dir, relative);
      const [stat, bytes] = await Promise.all([fs.stat(file), fs.readFile(file)]);
      entries.push({ name, file, recipients: await countRecipientStanzas(bytes), mtime: stat.mtime });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  const store: SecretStore = {
    root,
    dir,
    recipients,
    identityFile,
    fileOf,
    list,

    async has(name: string): Promise<boolean> {
      try {
        return (await fs.stat(fileOf(name))).isFile();
      } catch (error) {
        if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
        throw error;
      }
    },

    async get(name: string): Promise<Secret<string>> {
      const { file, bytes } = await readSecretFile(name);
      return decryptOne(name, file, bytes, await loadIdentities(identityFile));
    },

    async set(name: string, value: string | Secret<string>): Promise<void> {
      await write(name, typeof value === 'string' ? new Secret(value) : value);
    },

    async remove(name: string): Promise<void> {
      const file = fileOf(name);
      try {
        await fs.unlink(file);
      } catch (error) {
        if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) throw notFound(name, file);
        throw error;
      }
      await pruneEmptyDirs(path.dirname(file), dir);
    },

    async edit(name, editor, editOptions) {
      await checkedRecipients();
      const file = fileOf(name);
      const bytes = await readIfExists(file);
      let current: Secret<string>;
      if (bytes === undefined) {
        if (!editOptions?.create) throw notFound(name, file);
        current = new Secret('');
      } else {
        current = await decryptOne(name, file, bytes, await loadIdentities(identityFile));
      }
      const result = await editor(current);
      const next = typeof result === 'string' ? new Secret(result) : result;
      // age output is randomised: rewriting an unchanged value would still produce a Git diff.
      if (bytes !== undefined && next.reveal() === current.reveal()) return { changed: false };
      await write(name, next);
      return { changed: true };
    },

    async rotate(): Promise<{ rotated: string[] }> {
      const to = await checkedRecipients();
      const entries = await list();
      if (entries.length === 0) return { rotated: [] };
      const ids = await loadIdentities(identityFile);

      // Phase 1: decrypt everything. Any secret we cannot read stops the rotate before a write.
      const plain: { name: string; file: string; before: Uint8Array; value: Secret<string> }[] = [];
      for (const e of entries) {
        const before = await fs.readFile(e.file);
        plain.push({ name: e.name, file: e.file, before, value: await decryptOne(e.name, e.file, before, ids) });
      }

      // Phase 2: encrypt into temp files beside each target. A failure removes the temps.
      const temps: string[] = [];
      try {
        for (const p of plain) temps.push(await writeTemp(p.file, await encryptArmored(p.value, to)));
      } catch (error) {
        await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
        throw writeFailed(`the re-encrypted secrets under ${dir}`, error);
      }

      // Phase 3: rename into place. A failure puts back the originals already replaced.
      let done = 0;
      try {
        for (const [i, p] of plain.entries()) {
          await fs.rename(temps[i] as string, p.file);
          done++;
        }
      } catch (error) {
        await Promise.all(temps.slice(done).map((t) => fs.rm(t, { force: true })));
        await restore(plain.slice(0, done), error);
        throw writeFailed(`the re-encrypted secrets under ${dir}`, error);
      }
      await Promise.all([...new Set(plain.map((p) => path.dirname(p.file)))].map(syncDir));
      return { rotated: plain.map((p) => p.name) };
    },
  };
  return Object.freeze(store);
}

async function restore(replaced: readonly { file: string; before: Uint8Array }[], cause: unknown): Promise<void> {
  const failed: string[] = [];
  for (const r of replaced) {
    try {
      await writeAtomic(r.file, r.before);
    } catch {
      failed.push(r.file);
    }
  }
  if (failed.length > 0)
    throw new LabError({
      code: 'LAB_SECRET_WRITE',
      summary: `rotate failed and ${failed.length} file(s) could not be put back`,
      detail: `already re-encrypted to the new recipients: ${failed.join(', ')}; every other secret is unchanged`,
      hint: 'fix the file system problem, then run `lab secret rotate` again (or restore the files from Git)',
      cause,
    });
}

/** Relative paths of all regular files under `dir`; [] if it does not exist. Symlinks are not followed. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  let dirents;
  try {
    dirents = await fs.readdir(path.join(dir, prefix), { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
    throw error;
  }
  const out: string[] = [];
  for (const d of dirents) {
    const relative = prefix === '' ? d.name : path.join(prefix, d.name);
    if (d.isDirectory()) out.push(...(await walk(dir, relative)));
    else if (d.isFile()) out.push(relative);
  }
  return out;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
