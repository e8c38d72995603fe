import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, utils, type ClientChannel } from 'ssh2';
import { startJumpHost, type JumpHost } from '../src/jump/index.js';
import type { LoopbackEndpoint } from '../src/guests/index.js';

const clientKey = utils.generateKeyPairSync('ed25519');
const strangerKey = utils.generateKeyPairSync('ed25519');

function blobOf(publicKeyLine: string): Buffer {
  return Buffer.from(publicKeyLine.split(' ')[1]!, 'base64');
}

function connect(jump: JumpHost, privateKey: string, pinned = blobOf(jump.hostPublicKey)): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: jump.host,
      port: jump.port,
      username: 'root',
      privateKey,
      hostVerifier: (key: Buffer) => key.equals(pinned),
      readyTimeout: 10_000,
    });
  });
}

function forward(c: Client, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    c.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
}

function roundTrip(stream: ClientChannel, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    stream.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        stream.end();
        resolve(got);
      }
    });
    stream.on('error', reject);
    stream.write(text);
  });
}

describe('jump host', () => {
  let stateDir: string;
  let echo: net.Server;
  let echoPort: number;
  let jump: JumpHost;
  const asked: string[] = [];

  const resolve = (host: string, port: number): LoopbackEndpoint | undefined => {
    asked.push(`${host}:${port}`);
    if (host === '10.20.0.10' && port === 22) return { host: '127.0.0.1', port: echoPort };
    if (host === '10.20.0.11') return { host: '192.0.2.1', port: 22 } as unknown as LoopbackEndpoint;
    if (host === '10.20.0.12') return { host: '127.0.0.1', port: 1 };
    return undefined;
  };

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lab-jump-'));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
    jump = await startJumpHost({ stateDir, authorizedKeys: [clientKey.public], resolve });
  });

  afterAll(async () => {
    await jump.close();
    await new Promise((r) => echo.close(r));
    await rm(stateDir, { recursive: true, force: true });
  });

  it('forwards a declared address to its loopback endpoint for a pinned, key-authenticated client', async () => {
    const c = await connect(jump, clientKey.private);
    try {
      const stream = await forward(c, '10.20.0.10', 22);
      expect(await roundTrip(stream, 'hello guest')).toBe('hello guest');
      expect(asked).toContain('10.20.0.10:22');
    } finally {
      c.end();
    }
  });

  it('refuses unknown destinations, non-loopback endpoints and dead ports with a reason', async () => {
    const c = await connect(jump, clientKey.private);
    try {
      await expect(forward(c, '10.99.0.1', 22)).rejects.toThrow(/10\.99\.0\.1:22 is not a port of a running guest/);
      await expect(forward(c, '10.20.0.11', 22)).rejects.toThrow(/dials loopback only/);
      await expect(forward(c, '10.20.0.12', 22)).rejects.toThrow(/cannot reach 10\.20\.0\.12:22 \(ECONNREFUSED\)/);
      // The connection stays usable after refusals.
      expect(await roundTrip(await forward(c, '10.20.0.10', 22), 'still')).toBe('still');
    } finally {
      c.end();
    }
  });

  it('offers no shell or exec', async () => {
    const c = await connect(jump, clientKey.private);
    try {
      const err = await new Promise<Error | undefined>((r) => c.exec('id', (e) => r(e)));
      expect(err?.message).toMatch(/no shell or exec/);
    } finally {
      c.end();
    }
  });

  it('rejects keys it was not given', async () => {
    await expect(connect(jump, strangerKey.private)).rejects.toThrow(/authentication methods failed/);
  });

  it('keeps its host key across restarts, so clients can pin it', async () => {
    const keyFile = join(stateDir, 'jump-host', 'ssh_host_ed25519_key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${keyFile}.pub`, 'utf8')).toContain(jump.hostPublicKey);
    const again = await startJumpHost({ stateDir, authorizedKeys: [clientKey.public], resolve });
    try {
      expect(again.hostKeyFingerprint).toBe(jump.hostKeyFingerprint);
      expect(again.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(again.knownHostsLine()).toBe(`[127.0.0.1]:${again.port} ${jump.hostPublicKey}`);
      const c = await connect(again, clientKey.private, blobOf(jump.hostPublicKey));
      c.end();
    } finally {
      await again.close();
    }
  });

  it('fails host-key verification for a client pinned to another key', async () => {
    await expect(connect(jump, clientKey.private, blobOf(strangerKey.public))).rejects.toThrow(/verification failed/i);
  });

  it('drops connections beyond its limit and closes cleanly', async () => {
    const small = await startJumpHost({ stateDir, authorizedKeys: [clientKey.public], resolve, maxConnections: 1 });
    const first = await connect(small, clientKey.private);
    await expect(connect(small, clientKey.private)).rejects.toThrow();
    const closed = new Promise<void>((r) => first.once('close', () => r()));
    await small.close();
    await closed;
  });
});
