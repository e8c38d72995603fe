import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSecretStore, loadIdentities } from '../src/index.js';
import { expectLabError, person, sandbox, storeFor, type Person } from './_fixture.js';

const execFile = promisify(execFileCb);

// The stock CLI is the reference implementation of the format; without it interop is unproven.
const ageAvailable =
  spawnSync('age', ['--version']).status === 0 && spawnSync('age-keygen', ['--version']).status === 0;
const inCI = process.env['CI'] === 'true';

let box: Awaited<ReturnType<typeof sandbox>>;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(() => box.cleanup());

async function ageKeygen(file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await execFile('age-keygen', ['-o', file]);
  return (await execFile('age-keygen', ['-y', file])).stdout.trim();
}

/** `age -e`, plaintext on stdin, to the CLI's own output file. */
async function ageEncrypt(recipients: string[], plaintext: string, out: string, armored: boolean): Promise<void> {
  await mkdir(path.dirname(out), { recursive: true });
  const args = [...recipients.flatMap((r) => ['-r', r]), ...(armored ? ['-a'] : []), '-o', out];
  const r = spawnSync('age', args, { input: plaintext });
  if (r.status !== 0) throw new Error(`age ${args.join(' ')} failed: ${r.stderr.toString()}`);
}

describe('interop with the age CLI', () => {
  if (!ageAvailable) {
    it('needs the age CLI (apt-get install age)', (ctx) => {
      if (inCI) throw new Error('the age CLI (age, age-keygen) is not installed; CI must have it: apt-get install -y age');
      ctx.skip('age CLI not installed: interop not tested (apt-get install age)');
    });
    return;
  }

  it('files written by the library decrypt with `age -d -i KEY` (library-written key file)', async () => {
    const me: Person = await person(box.home, 'me');
    const store = storeFor(box.repo, me, [me]);
    const value = 'lib→cli ünïcode\nline2';
    await store.set('media/jellyfin-api-key', value);
    const { stdout } = await execFile('age', ['-d', '-i', me.keyFile, store.fileOf('media/jellyfin-api-key')]);
    expect(stdout).toBe(value);
  });

  it('files written by the library decrypt with age for each of several recipients (age-keygen keys)', async () => {
    const k1 = path.join(box.home, 'k1.key');
    const k2 = path.join(box.home, 'k2.key');
    const [r1, r2] = [await ageKeygen(k1), await ageKeygen(k2)];
    const store = openSecretStore({ root: box.repo, recipients: [r1, r2], identityFile: k1 });
    await store.set('x', 'two readers');
    for (const k of [k1, k2]) expect((await execFile('age', ['-d', '-i', k, store.fileOf('x')])).stdout).toBe('two readers');
  });

  for (const armored of [true, false]) {
    it(`files written by \`age -r${armored ? ' -a' : ''}\` (${armored ? 'armored' : 'binary'}) decrypt with the library`, async () => {
      const key = path.join(box.home, 'age-keygen.key');
      const recipient = await ageKeygen(key);
      const loaded = await loadIdentities(key);
      expect(loaded.recipients).toEqual([recipient]);
      const store = openSecretStore({ root: box.repo, recipients: [recipient], identityFile: key });
      const value = `from the cli ${armored ? 'armored' : 'binary'}\n`;
      await ageEncrypt([recipient], value, store.fileOf('cli/written'), armored);
      const head = await readFile(store.fileOf('cli/written'));
      expect(head.subarray(0, 10).toString()).toBe(armored ? '-----BEGIN' : 'age-encryp');
      expect((await store.get('cli/written')).reveal()).toBe(value);
      expect((await store.list())[0]?.recipients).toBe(1);
    });
  }

  it('a large value (multi-chunk STREAM payload) survives both directions', async () => {
    const me = await person(box.home, 'me');
    const store = storeFor(box.repo, me, [me]);
    const big = 'x'.repeat(200_000) + 'end';
    await store.set('big', big);
    const { stdout } = await execFile('age', ['-d', '-i', me.keyFile, store.fileOf('big')], { maxBuffer: 1 << 22 });
    expect(stdout).toBe(big);
    await ageEncrypt([me.recipient], big, store.fileOf('big2'), false);
    expect((await store.get('big2')).reveal()).toBe(big);
  });

  it('a CLI file encrypted to someone else → LAB_SECRET_DECRYPT', async () => {
    const me = await person(box.home, 'me');
    const other = await ageKeygen(path.join(box.home, 'other.key'));
    const store = storeFor(box.repo, me, [me]);
    await ageEncrypt([other], 'not yours', store.fileOf('theirs'), true);
    await expectLabError(store.get('theirs'), 'LAB_SECRET_DECRYPT');
  });

  it('age rejects a library file for a non-recipient, and the library file carries no plaintext', async () => {
    const me = await person(box.home, 'me');
    const stranger = path.join(box.home, 'stranger.key');
    await ageKeygen(stranger);
    const store = storeFor(box.repo, me, [me]);
    await store.set('s', 'canary-interop-93f1');
    expect(await readFile(store.fileOf('s'), 'utf8')).not.toContain('canary-interop-93f1');
    const r = spawnSync('age', ['-d', '-i', stranger, store.fileOf('s')]);
    expect(r.status).not.toBe(0);
    expect(r.stdout.toString()).toBe('');
  });
});
