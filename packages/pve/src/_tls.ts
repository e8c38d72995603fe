import net from 'node:net';
import tls, { type PeerCertificate } from 'node:tls';
import { Agent, type buildConnector } from 'undici';
import { PveError } from './errors.js';

const HEX64 = /^[0-9A-F]{64}$/;

/** `5b:0e:…` or `5B0E…` → `5B:0E:…` (64 hex digits); undefined when it is not a SHA-256 fingerprint. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/[\s:]/g, '').toUpperCase();
  if (!HEX64.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

function pinMismatch(host: string, expected: string, got: string | undefined): PveError {
  return new PveError({
    code: 'LAB_PVE_TLS_PIN',
    summary: `the TLS certificate of ${host} does not match the fingerprint pinned in lab.yaml`,
    detail: `expected ${expected}\n     got ${got ?? '(no certificate)'}`,
    hint:
      'if the node certificate was renewed on purpose, read the new fingerprint on the node ' +
      '(`pvenode cert info --output-format json | jq -r ".[].fingerprint"`) and set proxmox.fingerprint in lab.yaml; ' +
      'otherwise something between you and Proxmox is intercepting TLS — do not proceed',
  });
}

export interface PinnedAgentOptions {
  readonly fingerprint: string;
  readonly connectTimeoutMs: number;
  /** Idle keep-alive sockets are closed after this long. */
  readonly keepAliveTimeoutMs?: number;
  /** Sockets kept open to the API at most (the read parallelism). */
  readonly connections: number;
}

/**
 * A TLS connector that trusts exactly one certificate: the one whose SHA-256 fingerprint is
 * pinned. Proxmox nodes present certificates of their own cluster CA (or self-signed ones),
 * so the system CA chain cannot vouch for them; the pin replaces chain verification instead of
 * dropping it. The check runs on `secureConnect`, before undici gets the socket, so no byte of
 * HTTP — and no credential — is written to an unpinned peer.
 */
export function pinnedConnector(options: PinnedAgentOptions): buildConnector.connector {
  const expected = normalizeFingerprint(options.fingerprint);
  if (expected === undefined) {
    throw new PveError({
      code: 'LAB_PVE_CONFIG',
      summary: `'${options.fingerprint}' is not a SHA-256 certificate fingerprint`,
      hint: 'write 32 colon-separated hex bytes, as `pvenode cert info` prints them',
    });
  }
  const check = (host: string, cert: PeerCertificate | undefined): PveError | undefined => {
    const got = cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : undefined;
    return got === expected ? undefined : pinMismatch(host, expected, got);
  };
  return (opts, callback) => {
    let settled = false;
    const settle = (...args: Parameters<buildConnector.Callback>): void => {
      if (settled) return;
      settled = true;
      callback(...args);
    };
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    const servername = net.isIP(host) ? undefined : (opts.servername ?? host);
    const socket = tls.connect({
      host,
      port: Number(opts.port) || 443,
      ...(servername === undefined ? {} : { servername }),
      ALPNProtocols: ['http/1.1'],
      // Chain verification is replaced by the mandatory pin check on secureConnect below.
      rejectUnauthorized: false,
      checkServerIdentity: (h, cert) => check(h, cert),
    });
    socket.setNoDelay(true);
    socket.setTimeout(options.connectTimeoutMs, () => {
      socket.destroy(new Error(`TLS connection to ${host}:${opts.port} timed out after ${options.connectTimeoutMs} ms`));
    });
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      const err = check(`${host}:${opts.port}`, socket.getPeerCertificate());
      if (err) {
        socket.destroy();
        settle(err, null);
        return;
      }
      settle(null, socket);
    });
    socket.once('error', (err) => settle(err, null));
  };
}

/** An undici Agent whose every TLS connection is pinned. */
export function createPinnedAgent(options: PinnedAgentOptions): Agent {
  return new Agent({
    connect: pinnedConnector(options),
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    connections: options.connections,
  });
}

/** A plain-HTTP agent, allowed only for loopback URLs (the simulator's `https: false` mode). */
export function createPlainAgent(connectTimeoutMs: number, connections: number): Agent {
  return new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 4_000, connections });
}
