import { readFile, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret, isLabError } from '@lab/core';
import { openSecretStore, type SecretStore } from '../src/index.js';
import { expectLabError, person, sandbox, storeFor, type Person } from './_fixture.js';

let box: Awaited<ReturnType<typeof sandbox>>;
let alice: Person;
let store: SecretStore;

beforeEach(async () => {
  box = await sandbox();
  alice = await person(box.home, 'alice');
  store = storeFor(box.repo, alice, [alice]);
});
afterEach(() => box.cleanup());

describe('round trip', () => {
  it('set then get returns the exact value, including unicode and newlines', async () => {
    const value = 'pä$$wörd 🔑\nsecond line\n';
    await store.set('media/jellyfin-api-key', value);
    const got = await store.get('media/jellyfin-api-key');
    expect(got).toBeInstanceOf(Secret);
    expect(got.reveal()).toBe(value);
  });

  it('accepts a Secret as value and an empty string', async () => {
    await store.set('a', new Secret('from-a-secret'));
    await store.set('empty', '');
    expect((await store.get('a')).reveal()).toBe('from-a-secret');
    expect((await store.get('empty')).reveal()).toBe('');
  });

  it('writes ASCII-armored files at secrets/<name>.age and no temp files', async () => {
    await store.set('media/jellyfin-api-key', 'v');
    const file = path.join(box.repo, 'secrets', 'media', 'jellyfin-api-key.age');
    expect(store.fileOf('media/jellyfin-api-key')).toBe(file);
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(text.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(text).toMatch(/^[A-Za-z0-9+/=\n -]+$/);
    expect(await readdir(path.dirname(file))).toEqual(['jellyfin-api-key.age']);
  });

  it('set overwrites an existing secret', async () => {
    await store.set('x', 'one');
    await store.set('x', 'two');
    expect((await store.get('x')).reveal()).toBe('two');
  });

  it('honours a custom secrets dir', async () => {
    const s = openSecretStore({ root: box.repo, dir: 'vault', recipients: [alice.recipient], identityFile: alice.keyFile });
    await s.set('k', 'v');
    expect((await stat(path.join(box.repo, 'vault', 'k.age'))).isFile()).toBe(true);
  });
});

describe('list, has, remove', () => {
  it('lists secrets sorted with file, recipient count and mtime; ignores other files', async () => {
    const bob = await person(box.home, 'bob');
    const two = storeFor(box.repo, alice, [alice, bob]);
    await two.set('media/jellyfin-api-key', 'x');
    await store.set('backup/restic-password', 'y');
    await writeFile(path.join(box.repo, 'secrets', 'README.md'), 'not a secret');
    await writeFile(path.join(box.repo, 'secrets', 'UPPER.age'), 'not addressable');
    const entries = await store.list();
    expect(entries.map((e) => e.name)).toEqual(['backup/restic-password', 'media/jellyfin-api-key']);
    expect(entries.map((e) => e.recipients)).toEqual([1, 2]);
    expect(entries[1]?.file).toBe(path.join(box.repo, 'secrets', 'media', 'jellyfin-api-key.age'));
    expect(entries[0]?.mtime).toBeInstanceOf(Date);
  });

  it('lists nothing when the secrets dir does not exist', async () => {
    expect(await store.list()).toEqual([]);
  });

  it('has() reflects existence; remove() deletes and prunes empty dirs', async () => {
    expect(await store.has('media/a')).toBe(false);
    await store.set('media/a', 'x');
    expect(await store.has('media/a')).toBe(true);
    await store.remove('media/a');
    expect(await store.has('media/a')).toBe(false);
    expect(await readdir(path.join(box.repo, 'secrets'))).toEqual([]);
  });

  it('remove() and get() of a missing secret → LAB_SECRET_NOT_FOUND with the set command as hint', async () => {
    const e = await expectLabError(store.get('media/nope'), 'LAB_SECRET_NOT_FOUND');
    expect(isLabError(e) && e.hint).toBe('lab secret set media/nope');
    await expectLabError(store.remove('media/nope'), 'LAB_SECRET_NOT_FOUND');
  });
});

describe('edit', () => {
  it('passes the current plaintext as a Secret and stores the result', async () => {
    await store.set('db/password', 'old');
    const seen: string[] = [];
    const r = await store.edit('db/password', (current) => {
      seen.push(current.reveal());
      return `${current.reveal()}-new`;
    });
    expect(r).toEqual({ changed: true });
    expect(seen).toEqual(['old']);
    expect((await store.get('db/password')).reveal()).toBe('old-new');
  });

  it('leaves the file byte-identical when the text is unchanged', async () => {
    await store.set('db/password', 'same');
    const before = await readFile(store.fileOf('db/password'));
    expect(await store.edit('db/password', async (c) => c)).toEqual({ changed: false });
    expect(await readFile(store.fileOf('db/password'))).toEqual(before);
  });

  it('refuses a missing secret unless create is set', async () => {
    await expectLabError(store.edit('new/one', () => 'x'), 'LAB_SECRET_NOT_FOUND');
    expect(await store.edit('new/one', (c) => `${c.reveal()}fresh`, { create: true })).toEqual({ changed: true });
    expect((await store.get('new/one')).reveal()).toBe('fresh');
  });

  it('writes nothing when the editor throws', async () => {
    await store.set('db/password', 'keep');
    const before = await readFile(store.fileOf('db/password'));
    await expect(store.edit('db/password', () => Promise.reject(new Error('editor quit')))).rejects.toThrow('editor quit');
    expect(await readFile(store.fileOf('db/password'))).toEqual(before);
  });
});

describe('names', () => {
  const bad = ['', 'Media/key', '../escape', 'a/../b', 'a//b', '/abs', 'trailing/', 'a\\b', 'sp ace', '.hidden', 'a/-x', 'x.age', 'a/..b'];
  for (const name of bad) {
    it(`rejects ${JSON.stringify(name)} with LAB_SECRET_BAD_NAME before touching files`, async () => {
      await expectLabError(store.set(name, 'v'), 'LAB_SECRET_BAD_NAME');
      await expectLabError(store.get(name), 'LAB_SECRET_BAD_NAME');
      await expectLabError(() => store.fileOf(name), 'LAB_SECRET_BAD_NAME');
    });
  }
  it('accepts nested lowercase names with digits, dots, dashes and underscores', async () => {
    for (const name of ['a', 'media/jellyfin-api-key', 'x/y/z_1.v2', '0day']) {
      await store.set(name, name);
      expect((await store.get(name)).reveal()).toBe(name);
    }
  });
});

describe('recipients and identity', () => {
  it('writes need recipients: LAB_SECRET_NO_RECIPIENTS, nothing written', async () => {
    const none = storeFor(box.repo, alice, []);
    await expectLabError(none.set('a', 'v'), 'LAB_SECRET_NO_RECIPIENTS');
    await expectLabError(none.rotate(), 'LAB_SECRET_NO_RECIPIENTS');
    expect(await none.list()).toEqual([]);
  });

  it('a malformed recipient → LAB_SECRET_BAD_RECIPIENT naming its position', async () => {
    const s = storeFor(box.repo, alice, [alice.recipient, 'age1notakey']);
    const e = await expectLabError(s.set('a', 'v'), 'LAB_SECRET_BAD_RECIPIENT');
    expect(e.message).toContain('#2');
    expect(await s.has('a')).toBe(false);
  });

  it('rejects post-quantum recipients (unreadable by age 1.1) and never echoes a pasted private key', async () => {
    const pq = 'age1pq1' + 'q'.repeat(60);
    await expectLabError(storeFor(box.repo, alice, [pq]).set('a', 'v'), 'LAB_SECRET_BAD_RECIPIENT');
    const key = (await readFile(alice.keyFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? '';
    expect(key).not.toBe('');
    const e = await expectLabError(storeFor(box.repo, alice, [key]).set('a', 'v'), 'LAB_SECRET_BAD_RECIPIENT');
    expect(isLabError(e) && e.format()).toContain('PRIVATE key');
    expect(JSON.stringify(e) + (isLabError(e) ? e.format() : '')).not.toContain(key);
  });

  it('reads without recipients (a read-only checkout still decrypts)', async () => {
    await store.set('a', 'v');
    expect((await storeFor(box.repo, alice, []).get('a')).reveal()).toBe('v');
  });

  it('a missing key file → LAB_SECRET_NO_IDENTITY with a hint naming LAB_AGE_KEY_FILE', async () => {
    await store.set('a', 'v');
    const s = openSecretStore({ root: box.repo, recipients: [alice.recipient], identityFile: path.join(box.home, 'nobody.key') });
    const e = await expectLabError(s.get('a'), 'LAB_SECRET_NO_IDENTITY');
    expect(isLabError(e) && e.hint).toContain('LAB_AGE_KEY_FILE');
    expect(isLabError(e) && e.hint).toContain('lab secret init');
  });

  it('refuses a key file inside the repository', async () => {
    await mkdir(box.repo, { recursive: true });
    await expectLabError(
      () => openSecretStore({ root: box.repo, recipients: [], identityFile: path.join(box.repo, 'age.key') }),
      'LAB_SECRET_IDENTITY_IN_REPO',
    );
  });

  it('a file that is not age → LAB_SECRET_MALFORMED', async () => {
    await mkdir(path.join(box.repo, 'secrets'), { recursive: true });
    await writeFile(path.join(box.repo, 'secrets', 'junk.age'), 'hello');
    await expectLabError(store.get('junk'), 'LAB_SECRET_MALFORMED');
    expect((await store.list())[0]?.recipients).toBeUndefined();
  });

  it('a damaged armored file → LAB_SECRET_MALFORMED', async () => {
    await store.set('a', 'v');
    const text = await readFile(store.fileOf('a'), 'utf8');
    const lines = text.split('\n');
    lines[2] = (lines[2] ?? '').replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    await writeFile(store.fileOf('a'), lines.join('\n'));
    await expectLabError(store.get('a'), 'LAB_SECRET_MALFORMED');
  });
});
