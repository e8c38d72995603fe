import { promises as fsp } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSecretStore } from '../src/index.js';
import { expectLabError, person, sandbox, storeFor, type Person } from './_fixture.js';

let box: Awaited<ReturnType<typeof sandbox>>;
let alice: Person;
let bob: Person;
let carol: Person;

beforeEach(async () => {
  box = await sandbox();
  [alice, bob, carol] = await Promise.all([person(box.home, 'alice'), person(box.home, 'bob'), person(box.home, 'carol')]);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await box.cleanup();
});

const NAMES = ['a', 'media/jellyfin-api-key', 'backup/restic-password', 'z/last'];

async function seed(recipients: Person[]): Promise<void> {
  const s = storeFor(box.repo, alice, recipients);
  for (const n of NAMES) await s.set(n, `value of ${n}`);
}

async function snapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else out.set(path.relative(box.repo, p), await readFile(p, 'utf8'));
    }
  };
  await walk(path.join(box.repo, 'secrets'));
  return out;
}

describe('rotate', () => {
  it('re-encrypts every secret to the new recipient set: removed identity loses access, added one gains it', async () => {
    await seed([alice, bob]);
    expect((await storeFor(box.repo, bob, []).get('a')).reveal()).toBe('value of a');
    await expectLabError(storeFor(box.repo, carol, []).get('a'), 'LAB_SECRET_DECRYPT');

    // lab.yaml changed: bob removed, carol added; alice rotates.
    const result = await storeFor(box.repo, alice, [alice, carol]).rotate();
    expect(result.rotated).toEqual([...NAMES].sort());

    for (const n of NAMES) {
      expect((await storeFor(box.repo, carol, []).get(n)).reveal()).toBe(`value of ${n}`);
      expect((await storeFor(box.repo, alice, []).get(n)).reveal()).toBe(`value of ${n}`);
      await expectLabError(storeFor(box.repo, bob, []).get(n), 'LAB_SECRET_DECRYPT');
    }
    expect((await storeFor(box.repo, alice, []).list()).map((e) => e.recipients)).toEqual([2, 2, 2, 2]);
  });

  it('rotating an empty store is a no-op', async () => {
    expect(await storeFor(box.repo, alice, [alice]).rotate()).toEqual({ rotated: [] });
  });

  it('a secret the rotator cannot decrypt aborts before any write (all files unchanged)', async () => {
    await seed([alice, bob]);
    // One secret only bob and carol can read: alice's rotate must stop on it.
    await storeFor(box.repo, bob, [bob, carol]).set('media/bobs-only', 'hidden');
    const before = await snapshot();
    const e = await expectLabError(storeFor(box.repo, alice, [alice, carol]).rotate(), 'LAB_SECRET_DECRYPT');
    expect(e.message).toContain('media/bobs-only');
    expect(await snapshot()).toEqual(before);
  });

  it('a failure while renaming into place restores the files already replaced', async () => {
    await seed([alice, bob]);
    const before = await snapshot();
    const rename = fsp.rename.bind(fsp);
    let calls = 0;
    vi.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      calls++;
      if (calls === 3) throw Object.assign(new Error('EIO: injected i/o error, rename'), { code: 'EIO' });
      return rename(from, to);
    });
    await expectLabError(storeFor(box.repo, alice, [alice, carol]).rotate(), 'LAB_SECRET_WRITE');
    expect(calls).toBeGreaterThan(3);
    vi.restoreAllMocks();
    expect(await snapshot()).toEqual(before);
    expect((await storeFor(box.repo, bob, []).get('z/last')).reveal()).toBe('value of z/last');
    await expectLabError(storeFor(box.repo, carol, []).get('a'), 'LAB_SECRET_DECRYPT');
  });

  it('a failure while writing temp files leaves everything unchanged and no temp files', async () => {
    await seed([alice]);
    const before = await snapshot();
    const open = fsp.open.bind(fsp);
    let calls = 0;
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      if (String(args[0]).includes('.tmp-') && ++calls === 2) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
      return open(...args);
    });
    await expectLabError(openSecretStore({ root: box.repo, recipients: [alice.recipient, bob.recipient], identityFile: alice.keyFile }).rotate(), 'LAB_SECRET_WRITE');
    expect(calls).toBe(2);
    vi.restoreAllMocks();
    expect(await snapshot()).toEqual(before);
  });
});
