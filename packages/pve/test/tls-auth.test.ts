import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '@lab/core';
import { createPveClient, isPveError, normalizeFingerprint, type PveError } from '../src/index.js';
import { startTestSim, type TestSim } from './_sim.js';

let t: TestSim;
let now = Date.now();
beforeAll(async () => {
  t = await startTestSim({ clock: () => now });
});
afterAll(() => t.close());

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function failure(p: Promise<unknown>): Promise<PveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPveError(err)) throw new Error(`expected a PveError, got ${String(err)}`);
  return err;
}

describe('pinned TLS', () => {
  it('talks to the simulator over HTTPS pinned to its self-signed certificate', async () => {
    const v = await t.admin().version();
    expect(v.version).toBe(t.sim.version);
  });

  it('accepts the pin in any case and without colons', async () => {
    const bare = t.sim.fingerprint!.replace(/:/g, '').toLowerCase();
    expect(normalizeFingerprint(bare)).toBe(t.sim.fingerprint);
    const c = t.admin({ fingerprint: bare });
    expect((await c.version()).version).toBe(t.sim.version);
  });

  it('refuses a wrong fingerprint with LAB_PVE_TLS_PIN showing expected and got, before sending credentials', async () => {
    const wrong = `AA:${t.sim.fingerprint!.slice(3)}`;
    const before = t.events.filter((e) => e.kind === 'request').length;
    const err = await failure(t.admin({ fingerprint: wrong }).get('/version'));
    expect(err.code).toBe('LAB_PVE_TLS_PIN');
    expect(err.detail).toContain(`expected ${wrong}`);
    expect(err.detail).toContain(`got ${t.sim.fingerprint}`);
    expect(err.hint).toContain('proxmox.fingerprint');
    expect(t.events.filter((e) => e.kind === 'request').length).toBe(before);
  });

  it('requires a fingerprint for https and refuses plain http off loopback', () => {
    const auth = { kind: 'token' as const, tokenId: 'a@pve!b', secret: new Secret('x') };
    expect(() => createPveClient({ url: t.sim.url, auth })).toThrow(/fingerprint/);
    expect(() => createPveClient({ url: 'http://pve.example:8006', auth })).toThrow(/https only/);
    expect(() => createPveClient({ url: t.sim.url, fingerprint: 'AB:CD', auth })).toThrow(/not a SHA-256/);
  });

  it('reports a closed port as LAB_PVE_UNREACHABLE and marks it unsent', async () => {
    const port = await closedPort();
    const err = await failure(t.admin({ url: `https://127.0.0.1:${port}` }).post('/pools', { poolid: 'x' }));
    expect(err.code).toBe('LAB_PVE_UNREACHABLE');
    expect(err.call?.mayHaveActed).toBe(false);
  });

  it('cannot leave loopback in tests: the network guard stops the connection', async () => {
    const err = await failure(t.admin({ url: 'https://10.0.0.1:8006', retry: { attempts: 1 } }).get('/version'));
    expect(err.code).toBe('LAB_PVE_UNREACHABLE');
    expect(err.summary).toMatch(/network guard/);
  });
});

describe('authentication', () => {
  it('maps a wrong token secret to LAB_PVE_AUTH with a hint', async () => {
    const err = await failure(t.token(t.sim.adminToken.id, '00000000-0000-0000-0000-000000000000').get('/nodes'));
    expect(err.code).toBe('LAB_PVE_AUTH');
    expect(err.call?.status).toBe(401);
    expect(err.hint).toContain('pveum user token list root@pam');
  });

  it('rejects a malformed token id before any request', () => {
    expect(() => t.token('not-a-token', 'x')).toThrow(/not a Proxmox API token id/);
  });

  it('logs in with a ticket, sends CSRF on writes and renews the ticket before the 2 h expiry', async () => {
    const c = createPveClient({
      url: t.sim.url,
      fingerprint: t.sim.fingerprint,
      auth: { kind: 'ticket', username: 'root@pam', password: new Secret(t.sim.rootPassword) },
      clock: () => now,
    });
    try {
      await c.post('/pools', { poolid: 'ticket-made' });
      const first = c.transport.session.ticketIssuedAt;
      expect(first).toBe(now);
      now += 106 * 60_000;
      await c.get('/pools');
      const renewed = c.transport.session.ticketIssuedAt;
      expect(renewed).toBe(now);
      // 3 h after the first login: only a renewed ticket is still valid.
      now += 74 * 60_000;
      await c.delete('/pools', { poolid: 'ticket-made' });
      const renewals = t.events.filter((e) => e.kind === 'request' && e.method === 'POST' && e.path === '/access/ticket');
      expect(renewals.length).toBeGreaterThanOrEqual(2);
    } finally {
      await c.close();
    }
  });

  it('reports a bad password as LAB_PVE_AUTH', async () => {
    const c = createPveClient({ url: t.sim.url, fingerprint: t.sim.fingerprint, auth: { kind: 'ticket', username: 'root@pam', password: new Secret('wrong') } });
    const err = await failure(c.get('/nodes'));
    await c.close();
    expect(err.code).toBe('LAB_PVE_AUTH');
    expect(err.summary).toContain('login of root@pam failed');
  });
});
