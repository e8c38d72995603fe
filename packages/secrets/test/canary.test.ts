import { Console } from 'node:console';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import util from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLabError, type Secret } from '@lab/core';
import { loadIdentities, type SecretStore } from '../src/index.js';
import { person, sandbox, storeFor, type Person } from './_fixture.js';

// A value unlikely to appear by accident; every check below searches for it verbatim.
const CANARY = 'CANARY-7f3a9c1e-pl41nt3xt-d0-n0t-pr1nt';

let box: Awaited<ReturnType<typeof sandbox>>;
let me: Person;
let store: SecretStore;
let secret: Secret<string>;

beforeEach(async () => {
  box = await sandbox();
  me = await person(box.home, 'me');
  store = storeFor(box.repo, me, [me]);
  await store.set('canary/token', CANARY);
  secret = await store.get('canary/token');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await box.cleanup();
});

function captureConsole(): { console: Console; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { console: new Console({ stdout: stream, stderr: stream }), text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Everything a LabError can be turned into on its way to a terminal, a log or --json output. */
function renderError(error: unknown): string {
  const parts = [String(error), util.inspect(error, { depth: Infinity, showHidden: true })];
  if (error instanceof Error) parts.push(error.message, error.stack ?? '');
  if (isLabError(error)) parts.push(error.format(), JSON.stringify(error), JSON.stringify(error.toDiagnostic()));
  return parts.join('\n');
}

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('canary: the plaintext of a secret appears nowhere', () => {
  it('the store really holds it (the canary is live)', () => {
    expect(secret.reveal()).toBe(CANARY);
  });

  it('String(), template literals, concatenation, toString, valueOf', () => {
    const renders = [String(secret), `${secret}`, `token=${secret}`, '' + secret, secret.toString(), `${[secret]}`];
    for (const r of renders) expect(r).not.toContain(CANARY);
    expect(String(secret)).toBe('***');
  });

  it('JSON.stringify of an object containing it, nested and in arrays', () => {
    const json = JSON.stringify({ name: 'canary/token', value: secret, nested: { list: [secret, { deep: secret }] } });
    expect(json).not.toContain(CANARY);
    expect(json).toContain('"value":"***"');
  });

  it('util.inspect (every option), util.format (%s %o %O %j %d), enumeration, spread, structuredClone', () => {
    const outputs = [
      util.inspect(secret),
      util.inspect({ secret }, { depth: Infinity, showHidden: true, showProxy: true, getters: true }),
      util.inspect(secret, { customInspect: false, showHidden: true }),
      util.format('%s %o %O %j %d %i', secret, secret, { secret }, { secret }, secret, secret),
      JSON.stringify(Object.entries(secret)),
      JSON.stringify({ ...secret }),
      Object.getOwnPropertyNames(secret).join(','),
      util.inspect(structuredClone(secret), { showHidden: true }),
    ];
    for (const o of outputs) expect(o).not.toContain(CANARY);
  });

  it('console.log / console.error / console.dir / console.table output captured', () => {
    const cap = captureConsole();
    cap.console.log(secret);
    cap.console.log('token %s', secret, { secret });
    cap.console.error({ deep: { deeper: [secret] } });
    cap.console.dir(secret, { showHidden: true, depth: 10 });
    cap.console.table([{ secret }]);
    const text = cap.text();
    expect(text).toContain('***');
    expect(text).not.toContain(CANARY);
  });

  it('the global console.log, as vitest captures it', () => {
    const seen: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      seen.push(util.format(...args));
    });
    console.log('secret is', secret, { secret });
    expect(seen.join('\n')).not.toContain(CANARY);
    expect(seen).toHaveLength(1);
  });

  it('error messages of every failure that had the plaintext at hand', async () => {
    const errors = [
      await thrown(() => store.set('Bad Name', CANARY)),
      await thrown(() => store.set('ok/name', CANARY).then(() => storeFor(box.repo, me, []).set('x', CANARY))),
      await thrown(() => storeFor(box.repo, me, ['age1typo']).set('x', CANARY)),
      await thrown(() => storeFor(box.repo, me, []).edit('canary/token', (v) => v)),
      await thrown(async () => storeFor(box.repo, await person(box.home, 'stranger'), []).get('canary/token')),
      await thrown(() => store.get('canary/missing')),
    ];
    for (const e of errors) {
      expect(isLabError(e)).toBe(true);
      expect(renderError(e)).not.toContain(CANARY);
    }
  });

  it('the secret file on disk, list() entries and the store object', async () => {
    expect(await readFile(store.fileOf('canary/token'), 'utf8')).not.toContain(CANARY);
    expect(await readFile(store.fileOf('canary/token'), 'latin1')).not.toContain(Buffer.from(CANARY).toString('base64').slice(0, 20));
    expect(util.inspect(await store.list(), { depth: Infinity })).not.toContain(CANARY);
    expect(util.inspect(store, { depth: Infinity, showHidden: true })).not.toContain(CANARY);
  });

  it('the private key is a Secret too: loaded identities print masked', async () => {
    const ids = await loadIdentities(me.keyFile);
    const key = ids.identities[0]?.reveal() ?? '';
    expect(key.startsWith('AGE-SECRET-KEY-1')).toBe(true);
    const cap = captureConsole();
    cap.console.log(ids);
    for (const o of [cap.text(), JSON.stringify(ids), util.inspect(ids, { depth: Infinity, showHidden: true })]) {
      expect(o).not.toContain(key);
      expect(o).not.toContain('AGE-SECRET-KEY');
    }
  });
});
