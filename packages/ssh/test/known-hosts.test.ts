import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entryMatches,
  fingerprintOf,
  forgetHost,
  formatKnownHostsLine,
  generateKeyPair,
  keyTypeOf,
  loadKnownHosts,
  parseKnownHosts,
  pinHostKey,
  verifyHostKey,
  type KnownHosts,
} from '@lab/ssh';

const run = promisify(execFile);

function newKey(): { blob: Buffer; pub: string } {
  const kp = generateKeyPair();
  return { blob: kp.blob, pub: kp.publicKey };
}

const a = newKey();
const b = newKey();
const c = newKey();

function known(text: string): KnownHosts {
  return { file: '/lab/known_hosts', entries: parseKnownHosts(text), exists: true };
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts parsing and matching', () => {
  const cases: { name: string; field: string; host: string; port: number; match: boolean }[] = [
    { name: 'plain host', field: '10.0.10.5', host: '10.0.10.5', port: 22, match: true },
    { name: 'plain host, other port', field: '10.0.10.5', host: '10.0.10.5', port: 2222, match: false },
    { name: 'bracketed port', field: '[127.0.0.1]:2222', host: '127.0.0.1', port: 2222, match: true },
    { name: 'comma list', field: 'media,10.0.10.5', host: 'media', port: 22, match: true },
    { name: 'wildcard', field: '10.0.10.*', host: '10.0.10.77', port: 22, match: true },
    { name: 'question mark', field: 'node?', host: 'node1', port: 22, match: true },
    { name: 'negation wins', field: '10.0.10.*,!10.0.10.9', host: '10.0.10.9', port: 22, match: false },
    { name: 'case-insensitive', field: 'Media.Home.Arpa', host: 'media.home.arpa', port: 22, match: true },
    { name: 'hashed', field: hashed('10.0.10.5'), host: '10.0.10.5', port: 22, match: true },
    { name: 'hashed other host', field: hashed('10.0.10.5'), host: '10.0.10.6', port: 22, match: false },
    { name: 'hashed with port', field: hashed('[127.0.0.1]:2200'), host: '127.0.0.1', port: 2200, match: true },
  ];
  for (const t of cases) {
    it(t.name, () => expect(entryMatches({ hosts: t.field }, t.host, t.port)).toBe(t.match));
  }

  it('skips comments, blank and malformed lines and keeps line numbers', () => {
    const entries = parseKnownHosts(`# lab\n\n10.0.10.5 ${a.pub}\nbroken\n@revoked * ${b.pub}\n@cert-authority *.home ${c.pub}\n`);
    expect(entries.map((e) => [e.line, e.marker ?? '', e.keyType])).toEqual([
      [3, '', 'ssh-ed25519'],
      [5, 'revoked', 'ssh-ed25519'],
      [6, 'cert-authority', 'ssh-ed25519'],
    ]);
  });

  it('reads key types and fingerprints from blobs', () => {
    expect(keyTypeOf(a.blob)).toBe('ssh-ed25519');
    expect(fingerprintOf(a.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('host key verdicts', () => {
  const file = known(`10.0.10.5 ${a.pub}\n10.0.10.6 ${a.pub}\n@revoked 10.0.10.6 ${a.pub}\n@cert-authority * ${b.pub}\n`);
  it('trusts the pinned key', () => expect(verifyHostKey(file, '10.0.10.5', 22, a.blob).status).toBe('trusted'));
  it('reports a different key as changed, naming the pinned line', () => {
    const v = verifyHostKey(file, '10.0.10.5', 22, b.blob);
    expect(v.status).toBe('changed');
    if (v.status === 'changed') expect(v.entries.map((e) => e.line)).toEqual([1]);
  });
  it('reports an unlisted host as unknown (a CA line does not count)', () => expect(verifyHostKey(file, '10.0.10.7', 22, b.blob).status).toBe('unknown'));
  it('refuses a revoked key even when also pinned', () => expect(verifyHostKey(file, '10.0.10.6', 22, a.blob).status).toBe('revoked'));
});

describe('pinning keys in the lab known-hosts file', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lab-kh-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps every line when pins and forgets run at once (parallel bakes, parallel VMs)', async () => {
    const file = join(dir, 'concurrent', 'known_hosts');
    await Promise.all(Array.from({ length: 12 }, (_, i) => forgetHost(file, `10.0.30.${i}`).then(() => pinHostKey(file, `10.0.30.${i}`, 22, a.blob))));
    const loaded = await loadKnownHosts(file);
    for (let i = 0; i < 12; i++) expect(verifyHostKey(loaded, `10.0.30.${i}`, 22, a.blob).status).toBe('trusted');
  });

  it('adds once, is idempotent, and forgets like ssh-keygen -R', async () => {
    const file = join(dir, 'sub', 'known_hosts');
    expect(await pinHostKey(file, '10.0.10.5', 22, a.pub)).toBe('added');
    expect(await pinHostKey(file, '10.0.10.5', 22, a.blob)).toBe('present');
    expect(await pinHostKey(file, '127.0.0.1', 2222, b.blob)).toBe('added');
    const loaded = await loadKnownHosts(file);
    expect(verifyHostKey(loaded, '127.0.0.1', 2222, b.blob).status).toBe('trusted');
    expect(await forgetHost(file, '10.0.10.5')).toBe(1);
    expect(verifyHostKey(await loadKnownHosts(file), '10.0.10.5', 22, a.blob).status).toBe('unknown');
    expect(await readFile(file, 'utf8')).toBe(`${formatKnownHostsLine('127.0.0.1', 2222, b.blob)}\n`);
  });

  it('a key that moves between ports (the embedded jump host) keeps one line, not one per run', async () => {
    const file = join(dir, 'moving', 'known_hosts');
    await pinHostKey(file, '10.0.10.5', 22, a.blob);
    for (const port of [40001, 40002, 40003, 40002]) await pinHostKey(file, '127.0.0.1', port, b.blob, { movesBetweenPorts: true });
    // An unrelated key on another port of the same host stays.
    await pinHostKey(file, '127.0.0.1', 2222, a.blob);
    await pinHostKey(file, '127.0.0.1', 40004, b.blob, { movesBetweenPorts: true });
    expect(await readFile(file, 'utf8')).toBe(
      [formatKnownHostsLine('10.0.10.5', 22, a.blob), formatKnownHostsLine('127.0.0.1', 2222, a.blob), formatKnownHostsLine('127.0.0.1', 40004, b.blob), ''].join('\n'),
    );
  });

  it('a missing file loads as empty and says so', async () => {
    const k = await loadKnownHosts(join(dir, 'nope'));
    expect(k).toMatchObject({ exists: false, entries: [] });
  });

  it('writes lines OpenSSH reads, and reads lines OpenSSH hashes', async (ctx) => {
    const sshKeygen = await run('ssh-keygen', ['-?']).then(() => true, (e: { code?: unknown }) => e.code !== 'ENOENT');
    if (!sshKeygen) {
      if (process.env.CI === 'true') throw new Error('ssh-keygen (openssh-client) is needed for this interop test');
      ctx.skip();
    }
    const file = join(dir, 'interop');
    await pinHostKey(file, '127.0.0.1', 2200, a.blob);
    await pinHostKey(file, 'media', 22, b.blob);
    const found = await run('ssh-keygen', ['-F', '[127.0.0.1]:2200', '-f', file]);
    expect(found.stdout).toContain(a.blob.toString('base64'));
    await run('ssh-keygen', ['-H', '-f', file]);
    const hashedText = await readFile(file, 'utf8');
    expect(hashedText).not.toContain('media');
    const k = known(hashedText);
    expect(verifyHostKey(k, 'media', 22, b.blob).status).toBe('trusted');
    expect(verifyHostKey(k, '127.0.0.1', 2200, a.blob).status).toBe('trusted');
    expect(verifyHostKey(k, '127.0.0.1', 2200, b.blob).status).toBe('changed');
    await writeFile(file, '');
  });
});
