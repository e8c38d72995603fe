import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './persist.js';
import { currentHolder, describeHolder, holderState, type LockHolder } from './owner-lock.js';

/**
 * Sharing one running simulator between processes. Its owner publishes `endpoint.json` (URL,
 * certificate, tokens — mode 0600) in the state dir; another process attaches by leaving a lease
 * in `clients/` and reading the endpoint again, and the owner, when it wants to stop, first
 * withdraws the endpoint and then waits until no live lease is left. Because a client writes its
 * lease before its second read and the owner withdraws before it counts leases, every client
 * either sees no endpoint (and starts or waits on its own) or is counted: the owner never stops
 * under a command that is using it.
 */
export const ENDPOINT_FILE = 'endpoint.json';
const CLIENTS = 'clients';

/** What the owner published (URL, certificate, tokens…), flat, plus who it is. */
export type PublishedEndpoint<T> = T & {
  /** The owner's pid (tools read it to see the simulator they started is up). */
  readonly pid: number;
  readonly owner: LockHolder;
};

async function readEndpoint<T>(stateDir: string): Promise<PublishedEndpoint<T> | undefined> {
  try {
    const ep = JSON.parse(await readFile(path.join(stateDir, ENDPOINT_FILE), 'utf8')) as PublishedEndpoint<T>;
    if (!ep.owner || typeof ep.owner.pid !== 'number') return undefined;
    return ep;
  } catch {
    return undefined;
  }
}

/** The endpoint of the live owner of `stateDir`, or undefined (none, or its owner died). */
export async function liveEndpoint<T>(stateDir: string): Promise<PublishedEndpoint<T> | undefined> {
  const ep = await readEndpoint<T>(stateDir);
  return ep && holderState(ep.owner) === 'alive' ? ep : undefined;
}

export async function publishEndpoint<T>(stateDir: string, owner: LockHolder, info: T): Promise<void> {
  const ep: PublishedEndpoint<T> = { ...info, pid: owner.pid, owner };
  await writeFileAtomic(path.join(stateDir, ENDPOINT_FILE), `${JSON.stringify(ep, null, 2)}\n`, 0o600);
}

/** Remove the endpoint if it is still `owner`'s. */
export async function withdrawEndpoint(stateDir: string, owner: LockHolder): Promise<void> {
  const ep = await readEndpoint(stateDir);
  if (ep && ep.owner.pid === owner.pid && ep.owner.since === owner.since) await rm(path.join(stateDir, ENDPOINT_FILE), { force: true });
}

export interface Attachment<T> {
  readonly endpoint: PublishedEndpoint<T>;
  /** Drop the lease: the owner may stop once every lease is gone. */
  release(): Promise<void>;
}

/** Attach to the live owner of `stateDir`; undefined when there is none to attach to. */
export async function attachEndpoint<T>(stateDir: string, purpose: string): Promise<Attachment<T> | undefined> {
  if (!(await liveEndpoint<T>(stateDir))) return undefined;
  const dir = path.join(stateDir, CLIENTS);
  await mkdir(dir, { recursive: true });
  const me = currentHolder(purpose);
  const lease = path.join(dir, `${me.pid}-${randomBytes(4).toString('hex')}.json`);
  await writeFileAtomic(lease, `${JSON.stringify(me)}\n`, 0o600);
  const ep = await liveEndpoint<T>(stateDir);
  if (!ep) {
    await rm(lease, { force: true });
    return undefined;
  }
  return { endpoint: ep, release: () => rm(lease, { force: true }) };
}

/** Live clients holding a lease; leases of dead processes are removed on the way. */
export async function liveClients(stateDir: string): Promise<LockHolder[]> {
  const dir = path.join(stateDir, CLIENTS);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: LockHolder[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    try {
      const h = JSON.parse(await readFile(file, 'utf8')) as LockHolder;
      if (holderState(h) === 'dead') await rm(file, { force: true });
      else out.push(h);
    } catch {
      // a lease being written (writeFileAtomic renames it in whole) or just removed
    }
  }
  return out;
}

/**
 * Wait until no live client holds a lease. `onWait` is told once, with who is still attached,
 * so a command that finished can say why it has not exited yet.
 */
export async function waitForClients(stateDir: string, onWait: (clients: readonly string[]) => void, pollMs = 200): Promise<void> {
  let told = false;
  for (;;) {
    const clients = await liveClients(stateDir);
    if (clients.length === 0) return;
    if (!told) {
      told = true;
      onWait(clients.map(describeHolder));
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
