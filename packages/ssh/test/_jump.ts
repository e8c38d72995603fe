/**
 * Test helper: a minimal SSH jump host on 127.0.0.1 (ssh2 server) that accepts one public key
 * and forwards `direct-tcpip` requests for declared `address:port`s to loopback endpoints —
 * the behaviour of the simulator's jump host, small enough to test the transport on its own.
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Secret } from '@lab/core';
import { generateKeyPair } from '@lab/ssh';

export interface TestJumpHost {
  readonly port: number;
  readonly hostKey: Buffer;
  readonly privateKey: Secret<string>;
  readonly forwards: string[];
  /** Sessions open right now (to prove pooling reuses one). */
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startTestJumpHost(routes: Record<string, { host: string; port: number }>, username = 'jump'): Promise<TestJumpHost> {
  const hostKeys = generateKeyPair();
  const client = generateKeyPair();
  const allowed = ssh2.utils.parseKey(client.publicKey);
  if (allowed instanceof Error) throw allowed;
  const forwards: string[] = [];
  let open = 0;
  const server = new ssh2.Server({ hostKeys: [hostKeys.privateKey.reveal()] }, (conn) => {
    open += 1;
    conn.on('close', () => (open -= 1));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== username) return ctx.reject(['publickey']);
      const same = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      if (!same) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && !allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('tcpip', (accept, reject, info) => {
        const to = routes[`${info.destIP}:${info.destPort}`];
        forwards.push(`${info.destIP}:${info.destPort}`);
        if (!to) return reject();
        const sock = net.connect(to.port, to.host);
        sock.once('connect', () => {
          const ch = accept();
          ch.pipe(sock).pipe(ch);
          ch.on('close', () => sock.destroy());
          sock.on('close', () => ch.close());
        });
        sock.once('error', () => reject());
      });
      conn.on('session', (_accept, reject) => reject());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    hostKey: hostKeys.blob,
    privateKey: client.privateKey,
    forwards,
    connections: () => open,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
