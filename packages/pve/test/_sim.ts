import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret } from '@lab/core';
import { createNoneBackend, startSimulator, type RunningSimulator, type SimEvent, type SimulatorOptions } from '@lab/pve-sim';
import { createPveClient, type PveClient, type PveClientOptions } from '../src/index.js';

export interface TestSim {
  readonly sim: RunningSimulator;
  readonly events: SimEvent[];
  /** A client with the simulator's admin token (root@pam!lab-admin). */
  admin(extra?: Partial<PveClientOptions>): PveClient;
  /** A client for any token of this simulator. */
  token(tokenId: string, secret: string, extra?: Partial<PveClientOptions>): PveClient;
  close(): Promise<void>;
}

/** An in-process simulator on loopback with the record-only guest backend and fast timing. */
export async function startTestSim(opts: Partial<SimulatorOptions> = {}): Promise<TestSim> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lab-pve-'));
  const sim = await startSimulator({ stateDir: dir, guests: createNoneBackend(), seed: 'pve-client', timing: 'fast', ...(process.env.LAB_TEST_PVE ? { pve: process.env.LAB_TEST_PVE } : {}), ...opts });
  const events: SimEvent[] = [];
  sim.engine.on((e) => events.push(e));
  const clients: PveClient[] = [];
  const make = (tokenId: string, secret: string, extra: Partial<PveClientOptions> = {}): PveClient => {
    const c = createPveClient({
      url: sim.url,
      fingerprint: sim.fingerprint,
      auth: { kind: 'token', tokenId, secret: new Secret(secret) },
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...extra,
    });
    clients.push(c);
    return c;
  };
  return {
    sim,
    events,
    admin: (extra) => make(sim.adminToken.id, sim.adminToken.secret, extra),
    token: make,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Create `user` and a privsep token with no ACLs; returns the token secret. */
export async function makeToken(admin: PveClient, userid: string, token: string): Promise<string> {
  await admin.post('/access/users', { userid });
  const res = (await admin.post(`/access/users/${encodeURIComponent(userid)}/token/${token}`, { privsep: true })) as { value: string };
  return res.value;
}
