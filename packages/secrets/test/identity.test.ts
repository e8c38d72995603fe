import { execFileSync } from 'node:child_process';
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '@lab/core';
import { defaultIdentityFile, generateIdentity, loadIdentities, writeIdentityFile } from '../src/index.js';
import { expectLabError, sandbox } from './_fixture.js';

let box: Awaited<ReturnType<typeof sandbox>>;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(() => box.cleanup());

describe('generateIdentity / writeIdentityFile', () => {
  it('generates an X25519 identity (readable by age 1.1) and its recipient', async () => {
    const { identity, recipient } = await generateIdentity();
    expect(identity).toBeInstanceOf(Secret);
    expect(identity.reveal()).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
  });

  it('writes the age-keygen format with mode 0600 in a new 0700 directory', async () => {
    const { identity, recipient } = await generateIdentity();
    const file = path.join(box.home, '.config', 'lab', 'age.key');
    await writeIdentityFile(file, identity);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);
    expect(text).toContain(`# public key: ${recipient}\n`);
    expect(text.endsWith(`${identity.reveal()}\n`)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
  });

  it('refuses to overwrite an existing file and leaves it untouched', async () => {
    const file = path.join(box.home, 'age.key');
    await writeIdentityFile(file, (await generateIdentity()).identity);
    const before = await readFile(file, 'utf8');
    await expectLabError(writeIdentityFile(file, (await generateIdentity()).identity), 'LAB_SECRET_IDENTITY_EXISTS');
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('refuses to write inside the lab repository or any Git working tree, unless Git ignores the path', async () => {
    const repo = path.join(box.home, 'lab');
    await mkdir(repo, { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
    await writeFile(path.join(repo, '.gitignore'), '.lab/\n');
    const { identity } = await generateIdentity();
    await expectLabError(writeIdentityFile(path.join(repo, 'age.key'), identity, { repository: repo }), 'LAB_SECRET_IDENTITY_IN_REPO');
    // Another working tree (a dotfiles repository, say): refused where Git would track it…
    await expectLabError(writeIdentityFile(path.join(repo, 'keys', 'age.key'), identity), 'LAB_SECRET_IDENTITY_IN_REPO');
    // …allowed where Git ignores it.
    await writeIdentityFile(path.join(repo, '.lab', 'age.key'), identity);
    expect((await stat(path.join(repo, '.lab', 'age.key'))).mode & 0o777).toBe(0o600);
  });
});

describe('loadIdentities', () => {
  it('reads several identities, skipping comments and blank lines, with their recipients', async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    const file = path.join(box.home, 'keys.txt');
    await mkdir(box.home, { recursive: true });
    await writeFile(
      file,
      `# created: x\n# public key: ${a.recipient}\n${a.identity.reveal()}\n\n# public key: ${b.recipient}\r\n${b.identity.reveal()}\r\n`,
    );
    const set = await loadIdentities(file);
    expect(set.file).toBe(file);
    expect(set.identities.map((i) => i.reveal())).toEqual([a.identity.reveal(), b.identity.reveal()]);
    expect(set.recipients).toEqual([a.recipient, b.recipient]);
  });

  it('missing file → LAB_SECRET_NO_IDENTITY; comments only → LAB_SECRET_NO_IDENTITY', async () => {
    await expectLabError(loadIdentities(path.join(box.home, 'none.key')), 'LAB_SECRET_NO_IDENTITY');
    await mkdir(box.home, { recursive: true });
    await writeFile(path.join(box.home, 'empty.key'), '# public key: age1xyz\n\n');
    await expectLabError(loadIdentities(path.join(box.home, 'empty.key')), 'LAB_SECRET_NO_IDENTITY');
  });

  it('a garbled key line → LAB_SECRET_BAD_IDENTITY naming the line number but not its content', async () => {
    const { identity } = await generateIdentity();
    const garbled = identity.reveal().slice(0, -4) + 'QQQQ';
    await mkdir(box.home, { recursive: true });
    const file = path.join(box.home, 'bad.key');
    await writeFile(file, `# comment\n${garbled}\n`);
    const e = await expectLabError(loadIdentities(file), 'LAB_SECRET_BAD_IDENTITY');
    expect(e.message).toContain('line 2');
    expect(JSON.stringify(e)).not.toContain(garbled.slice(16, 40));
    await writeFile(file, 'AGE-PLUGIN-YUBIKEY-1ABCDEF\n');
    await expectLabError(loadIdentities(file), 'LAB_SECRET_BAD_IDENTITY');
  });
});

describe('defaultIdentityFile', () => {
  it('prefers LAB_AGE_KEY_FILE, then an absolute XDG_CONFIG_HOME, then ~/.config', () => {
    expect(defaultIdentityFile({ LAB_AGE_KEY_FILE: '/k/age.key', XDG_CONFIG_HOME: '/x' })).toBe('/k/age.key');
    expect(defaultIdentityFile({ XDG_CONFIG_HOME: '/x' })).toBe('/x/lab/age.key');
    expect(defaultIdentityFile({ XDG_CONFIG_HOME: 'relative' })).toBe(path.join(os.homedir(), '.config', 'lab', 'age.key'));
    expect(defaultIdentityFile({})).toBe(path.join(os.homedir(), '.config', 'lab', 'age.key'));
  });
});
