import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { LabError } from '@lab/core';
import { authFailed, hostKeyChanged, hostKeyRevoked, hostKeyUnknown, unreachable } from './errors.js';
import { loadKnownHosts, lookupHost, pinnedKeyTypes, verifyHostKey } from './known-hosts.js';
import { describeEndpoint, portOf, type SshEndpoint } from './target.js';

const { Client } = ssh2;
export type Ssh2Client = InstanceType<typeof Client>;

export interface OpenClientOptions {
  readonly knownHostsFile: string;
  readonly connectMs: number;
  readonly keepaliveMs: number;
  /** A stream already connected to the server (a jump host's forwarded channel). */
  readonly sock?: Duplex;
  /** Name of the jump host for messages. */
  readonly via?: string;
}

/**
 * Connect and authenticate one ssh2 client, refusing any host key the known-hosts file does not
 * pin for this host. Only the key types pinned for the host are offered in the key exchange, so
 * a server with several keys presents the one lab knows (OpenSSH orders its proposal the same way).
 */
export async function openClient(ep: SshEndpoint, options: OpenClientOptions): Promise<Ssh2Client> {
  const label = describeEndpoint(ep);
  const known = await loadKnownHosts(options.knownHostsFile);
  const lookupName = ep.hostKeyAlias ?? ep.host;
  const lookupPort = ep.hostKeyAlias === undefined ? portOf(ep) : 22;
  const types = pinnedKeyTypes(lookupHost(known, lookupName, lookupPort));
  let refusal: LabError | undefined;

  const client = new Client();
  return new Promise<Ssh2Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: LabError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (error: Error & { level?: string }) => {
      if (refusal) return fail(refusal);
      if (error.level === 'client-authentication') return fail(authFailed(label, ep.username, error));
      fail(unreachable(label, error, options.via));
    });
    client.once('close', () => fail(refusal ?? unreachable(label, new Error('connection closed during the SSH handshake'), options.via)));
    client.connect({
      host: ep.host,
      port: portOf(ep),
      username: ep.username,
      privateKey: ep.privateKey.reveal(),
      ...(ep.passphrase ? { passphrase: ep.passphrase.reveal() } : {}),
      ...(options.sock ? { sock: options.sock } : {}),
      readyTimeout: options.connectMs,
      keepaliveInterval: options.keepaliveMs,
      keepaliveCountMax: 3,
      ...(types.length > 0 ? { algorithms: { serverHostKey: types as never } } : {}),
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(known, lookupName, lookupPort, key);
        if (verdict.status === 'trusted') return true;
        refusal =
          verdict.status === 'unknown'
            ? hostKeyUnknown(label, lookupName, lookupPort, options.knownHostsFile, key, known.exists)
            : verdict.status === 'revoked'
              ? hostKeyRevoked(label, options.knownHostsFile, verdict.entry)
              : hostKeyChanged(label, lookupName, lookupPort, options.knownHostsFile, key, verdict.entries);
        return false;
      },
    });
  });
}

/** Open a `direct-tcpip` channel through `jump` to `host:port` (what `ssh -J` does). */
export function forwardThrough(jump: Ssh2Client, host: string, port: number, label: string, via: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
      if (error) reject(unreachable(label, error, via));
      else resolve(stream);
    });
  });
}
