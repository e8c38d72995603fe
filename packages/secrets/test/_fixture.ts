import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, openSecretStore, writeIdentityFile, type SecretStore } from '../src/index.js';

export interface Person {
  readonly keyFile: string;
  readonly recipient: string;
}

/** A fresh repo dir and a home dir (for key files, outside the repo); `cleanup` removes both. */
export async function sandbox(): Promise<{ repo: string; home: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'lab-secrets-'));
  return {
    repo: path.join(base, 'repo'),
    home: path.join(base, 'home'),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

export async function person(home: string, who: string): Promise<Person> {
  const { identity, recipient } = await generateIdentity();
  const keyFile = path.join(home, who, 'age.key');
  await writeIdentityFile(keyFile, identity);
  return { keyFile, recipient };
}

export function storeFor(repo: string, me: Person, recipients: readonly Person[] | readonly string[]): SecretStore {
  return openSecretStore({
    root: repo,
    recipients: recipients.map((r) => (typeof r === 'string' ? r : r.recipient)),
    identityFile: me.keyFile,
  });
}

export async function expectLabError(promise: Promise<unknown> | (() => unknown), code: string): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    const e = error as { code?: string };
    if (e.code !== code) throw new Error(`expected LabError ${code}, got ${e.code ?? String(error)}`);
    return error as Error;
  }
  throw new Error(`expected LabError ${code}, but nothing was thrown`);
}
