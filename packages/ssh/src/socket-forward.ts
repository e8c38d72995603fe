import type { Duplex } from 'node:stream';
import { LabError } from '@lab/core';
import type { Ssh2Client } from './_client.js';
import type { SshConnection } from './connection.js';

/** A unix socket on the remote host whose connections come back to this process. */
export interface RemoteSocketForward {
  /** Path of the socket on the remote host (sshd creates it as the login user, mode 0600). */
  readonly remotePath: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stop listening; connections already accepted keep running until they end. */
  close(): Promise<void>;
}

/** Called with each connection made to the remote socket, as a duplex stream. */
export type SocketStreamHandler = (stream: Duplex) => void;

interface UnixConnectionInfo {
  readonly socketPath: string;
}

type Accept = () => Duplex;
type Reject = () => void;

// ssh2 reports every forwarded unix connection of a client on one event; each client gets
// one listener that dispatches on the socket path, so several forwards can share a connection.
const registries = new WeakMap<Ssh2Client, Map<string, SocketStreamHandler>>();

function registryOf(client: Ssh2Client): Map<string, SocketStreamHandler> {
  let handlers = registries.get(client);
  if (handlers) return handlers;
  const created = new Map<string, SocketStreamHandler>();
  client.on('unix connection', (info: UnixConnectionInfo, accept: Accept, reject: Reject) => {
    const handler = created.get(info.socketPath);
    if (!handler) return reject();
    handler(accept());
  });
  registries.set(client, created);
  handlers = created;
  return handlers;
}

/**
 * The ssh2 client under a connection. SshConnection keeps it private because commands must go
 * through its channel limit; a forward is not a command, and opening a second connection for it
 * would defeat the point (riding the authenticated, host-key-checked connection already open).
 */
function clientOf(conn: SshConnection): Ssh2Client {
  return (conn as unknown as { readonly client: Ssh2Client }).client;
}

/**
 * Listen on a unix socket on the remote host and hand every connection to it back to
 * `onStream` (OpenSSH's `streamlocal-forward@openssh.com`, what `ssh -R /remote.sock:…` does).
 * The socket belongs to the login user; put it in a directory only that user (and root) can
 * enter. OpenSSH servers allow this unless `AllowStreamLocalForwarding` or `DisableForwarding`
 * says otherwise.
 */
export async function forwardRemoteSocket(conn: SshConnection, remotePath: string, onStream: SocketStreamHandler): Promise<RemoteSocketForward> {
  if (!conn.isOpen) {
    throw new LabError({ code: 'LAB_SSH_DISCONNECTED', summary: `cannot forward ${remotePath}: the connection to ${conn.label} is closed`, hint: 'retry the command' });
  }
  const client = clientOf(conn);
  const handlers = registryOf(client);
  if (handlers.has(remotePath)) {
    throw new LabError({ code: 'LAB_SSH_FORWARD_REFUSED', summary: `${remotePath} on ${conn.label} is already forwarded by this connection` });
  }
  let accepted = 0;
  handlers.set(remotePath, (stream) => {
    accepted += 1;
    onStream(stream);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.openssh_forwardInStreamLocal(remotePath, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
  } catch (cause) {
    handlers.delete(remotePath);
    throw new LabError({
      code: 'LAB_SSH_FORWARD_REFUSED',
      summary: `${conn.label} refused to forward the unix socket ${remotePath}`,
      detail: (cause as Error).message,
      hint: 'the socket path must not exist yet and its directory must be writable by the login user; sshd must allow it (AllowStreamLocalForwarding yes, the default; DisableForwarding no)',
      cause,
    });
  }
  let closed = false;
  return {
    remotePath,
    get accepted() {
      return accepted;
    },
    async close() {
      if (closed) return;
      closed = true;
      handlers.delete(remotePath);
      if (!conn.isOpen) return;
      await new Promise<void>((resolve) => {
        try {
          client.openssh_unforwardInStreamLocal(remotePath, () => resolve());
        } catch {
          // The transport went away between the check and the request: nothing listens any more.
          resolve();
        }
      });
    },
  };
}
