import type { Secret } from '@lab/core';

/** One SSH server to log in to: the guest itself, or the jump host in front of it. */
export interface SshEndpoint {
  /** Address to dial (or, behind a jump host, the address the jump host forwards to). */
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  /** OpenSSH private key text (PEM or `-----BEGIN OPENSSH PRIVATE KEY-----`). */
  readonly privateKey: Secret<string>;
  readonly passphrase?: Secret<string>;
  /**
   * Name to look the host key up under in the known-hosts file instead of `host`/`[host]:port`,
   * like OpenSSH's HostKeyAlias (useful when a guest is reached on a loopback port).
   */
  readonly hostKeyAlias?: string;
}

export interface SshTimeouts {
  /** TCP connect + key exchange + authentication. Default 15 s. */
  readonly connectMs?: number;
  /**
   * A remote command that prints nothing (stdout or stderr) for this long is taken for hung and
   * stopped (`LAB_SSH_SILENT`). Default 3 min; lab.yaml `ssh.silenceTimeout`.
   */
  readonly silenceMs?: number;
  /**
   * Safety bound on one command that keeps printing: only a runaway ends here. Default 6 h;
   * lab.yaml `ssh.commandTimeout`. A call may pass a shorter `timeoutMs` of its own.
   */
  readonly commandMs?: number;
  /** Keepalive interval; three missed answers drop the connection. Default 10 s. */
  readonly keepaliveMs?: number;
}

/**
 * Everything needed to run commands on one host. Host keys are always checked against
 * `knownHostsFile` (OpenSSH format); there is deliberately no way to turn that off.
 */
export interface SshTarget extends SshEndpoint {
  readonly knownHostsFile: string;
  /** ProxyJump: connect to this host first and tunnel to `host:port` through it. */
  readonly jump?: SshEndpoint;
  /** Password for sudo when the user has no password-less sudo; never put on a command line. */
  readonly sudoPassword?: Secret<string>;
  /** Parallel exec channels on the one connection (OpenSSH's MaxSessions is 10; two go to persistent shells). Default 7. */
  readonly maxChannels?: number;
  readonly timeouts?: SshTimeouts;
}

export const DEFAULT_TIMEOUTS: Required<SshTimeouts> = { connectMs: 15_000, silenceMs: 180_000, commandMs: 6 * 3_600_000, keepaliveMs: 10_000 };

export function portOf(e: Pick<SshEndpoint, 'port'>): number {
  return e.port ?? 22;
}

/** `user@host:port` for messages. */
export function describeEndpoint(e: SshEndpoint): string {
  return `${e.username}@${e.host}${portOf(e) === 22 ? '' : `:${portOf(e)}`}`;
}

/** Pool key: the same user on the same host through the same jump host is one connection. */
export function targetKey(t: SshTarget): string {
  const via = t.jump ? ` via ${describeEndpoint(t.jump)}` : '';
  return `${describeEndpoint(t)}${via}`;
}
