import net from 'node:net';
import { LabError } from '@lab/core';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';

// ssh2 is CommonJS: named value imports work under tsx but not under plain node ESM.
const { Server } = ssh2;
import type { LoopbackEndpoint } from '../guests/backend.js';
import { parseAuthorizedKeys } from './_authorized.js';
import { loadOrCreateHostKey } from './_host-key.js';

export interface JumpHostOptions {
  /** The simulator's state dir; the host key lives in `<stateDir>/jump-host/` and survives restarts. */
  readonly stateDir: string;
  /** OpenSSH public key lines (authorized_keys format) allowed to log in. */
  readonly authorizedKeys: readonly string[];
  /** User names accepted; any when omitted (the key decides). */
  readonly users?: readonly string[];
  /**
   * Where a `direct-tcpip` request for `<host>:<port>` (a VM's declared address) goes: a
   * loopback endpoint, or undefined to refuse the channel.
   */
  readonly resolve: (host: string, port: number) => LoopbackEndpoint | undefined | Promise<LoopbackEndpoint | undefined>;
  /** Listen address, loopback only. Default `127.0.0.1`. */
  readonly host?: '127.0.0.1' | '::1';
  /** Default 0: a free port. */
  readonly port?: number;
  /** Concurrent SSH connections; more are dropped at accept. Default 64. */
  readonly maxConnections?: number;
  /** Concurrent forwarded channels per connection. Default 32. */
  readonly maxChannelsPerConnection?: number;
  /** A connection that has not authenticated by then is closed. Default 20 s. */
  readonly authTimeoutMs?: number;
  readonly onEvent?: (event: JumpHostEvent) => void;
}

export type JumpHostEvent =
  | { readonly type: 'auth'; readonly user: string; readonly accepted: boolean; readonly method: string }
  | { readonly type: 'forward'; readonly to: string; readonly endpoint: string }
  | { readonly type: 'refused'; readonly to: string; readonly reason: string };

export interface JumpHost {
  readonly host: string;
  readonly port: number;
  /** `ssh-ed25519 AAAA…`: pin it (known_hosts line from `knownHostsLine()`, or compare blobs). */
  readonly hostPublicKey: string;
  /** `SHA256:…` of the host key. */
  readonly hostKeyFingerprint: string;
  /** `[127.0.0.1]:<port> ssh-ed25519 AAAA…` for a known_hosts file. */
  knownHostsLine(): string;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The simulated Proxmox node as an SSH jump host (`ssh -J`): public-key login, then only
 * `direct-tcpip` channels, each forwarded to the loopback endpoint `resolve` gives for the VM
 * address the client asked for. No shell, no exec, no remote forwarding, and no destination
 * other than loopback, whatever the resolver returns.
 */
export async function startJumpHost(options: JumpHostOptions): Promise<JumpHost> {
  const listenHost = options.host ?? '127.0.0.1';
  if (!isLoopback(listenHost)) {
    throw new LabError({ code: 'LAB_SIM_JUMP_NOT_LOOPBACK', summary: `jump host must listen on loopback, not ${listenHost}` });
  }
  const hostKey = await loadOrCreateHostKey(options.stateDir);
  const authorized = parseAuthorizedKeys(options.authorizedKeys);
  const maxChannels = options.maxChannelsPerConnection ?? 32;
  const authTimeoutMs = options.authTimeoutMs ?? 20_000;
  const emit = (e: JumpHostEvent): void => options.onEvent?.(e);
  const clients = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKey.privateKey], ident: 'lab-pve-sim-jump' }, (client) => {
    clients.add(client);
    let channels = 0;
    const authTimer = setTimeout(() => client.end(), authTimeoutMs);
    client.on('close', () => {
      clearTimeout(authTimer);
      clients.delete(client);
    });
    client.on('error', () => client.end());

    client.on('authentication', (ctx) => {
      const userOk = !options.users || options.users.includes(ctx.username);
      if (ctx.method !== 'publickey' || !userOk) {
        if (ctx.method !== 'none') emit({ type: 'auth', user: ctx.username, accepted: false, method: ctx.method });
        return ctx.reject(['publickey']);
      }
      const key = authorized.find(ctx.key.data);
      if (!key) {
        emit({ type: 'auth', user: ctx.username, accepted: false, method: 'publickey' });
        return ctx.reject(['publickey']);
      }
      // Without a signature the client only asks whether the key would do (RFC 4252 §7).
      if (!ctx.signature) return ctx.accept();
      if (key.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo) !== true) {
        emit({ type: 'auth', user: ctx.username, accepted: false, method: 'publickey' });
        return ctx.reject(['publickey']);
      }
      emit({ type: 'auth', user: ctx.username, accepted: true, method: 'publickey' });
      ctx.accept();
    });

    client.on('ready', () => {
      clearTimeout(authTimer);
      client.on('session', (_accept, reject) =>
        rejectWithReason(client, reject, 'this jump host offers no shell or exec; forward with ssh -J or direct-tcpip'),
      );
      client.on('tcpip', (accept, reject, info) => {
        const to = `${info.destIP}:${info.destPort}`;
        const refuse = (reason: string): void => {
          emit({ type: 'refused', to, reason });
          rejectWithReason(client, reject, reason);
        };
        if (channels >= maxChannels) return refuse(`too many channels on this connection (max ${maxChannels})`);
        channels += 1;
        let released = false;
        const release = (): void => {
          if (!released) channels -= 1;
          released = true;
        };
        void Promise.resolve()
          .then(() => options.resolve(info.destIP, info.destPort))
          .then(
            (endpoint) => {
              if (!endpoint) {
                release();
                return refuse(`${to} is not a port of a running guest on this simulator`);
              }
              if (!isLoopback(endpoint.host)) {
                release();
                return refuse(`refusing to connect to ${endpoint.host}: the jump host dials loopback only`);
              }
              forward(endpoint, to, accept, (reason) => {
                release();
                refuse(reason);
              }, release);
            },
            (err: unknown) => {
              release();
              refuse(`cannot resolve ${to}: ${err instanceof Error ? err.message : String(err)}`);
            },
          );
      });
    });
  });
  (server as unknown as { maxConnections: number }).maxConnections = options.maxConnections ?? 64;

  function forward(
    endpoint: LoopbackEndpoint,
    to: string,
    accept: () => ServerChannel | undefined,
    fail: (reason: string) => void,
    done: () => void,
  ): void {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
    socket.once('error', (e: NodeJS.ErrnoException) => fail(`cannot reach ${to} (${e.code ?? e.message})`));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      const channel = accept();
      if (!channel) {
        socket.destroy();
        return done();
      }
      emit({ type: 'forward', to, endpoint: `${endpoint.host}:${endpoint.port}` });
      socket.on('error', () => channel.destroy());
      channel.on('error', () => socket.destroy());
      channel.on('close', () => {
        socket.destroy();
        done();
      });
      socket.on('close', () => channel.end());
      socket.pipe(channel).pipe(socket);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    host: listenHost,
    port: address.port,
    hostPublicKey: hostKey.publicKey,
    hostKeyFingerprint: hostKey.fingerprint,
    knownHostsLine() {
      const name = address.port === 22 ? listenHost : `[${listenHost}]:${address.port}`;
      return `${name} ${hostKey.publicKey}`;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of clients) c.end();
      });
    },
  };
}

/**
 * ssh2's reject() sends an empty description; the client then sees only a bare reason code.
 * The description is what `ssh -J` and ssh2 print, so put the reason there for the one
 * synchronous channelOpenFail call reject() makes.
 */
function rejectWithReason(client: Connection, reject: () => void, reason: string): void {
  const proto = (client as unknown as { _protocol?: ChannelOpenFailer })._protocol;
  const original = proto?.channelOpenFail;
  if (proto && typeof original === 'function') {
    proto.channelOpenFail = (recipient, code, desc) => {
      proto.channelOpenFail = original;
      original.call(proto, recipient, code, desc || reason);
    };
  }
  try {
    reject();
  } finally {
    if (proto && original) proto.channelOpenFail = original;
  }
}

interface ChannelOpenFailer {
  channelOpenFail: (recipient: number, code: number, desc?: string) => void;
}

function isLoopback(host: string): boolean {
  return host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}
