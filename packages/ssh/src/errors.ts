import { LabError } from '@lab/core';
import { fingerprintOf, formatKnownHostsLine, keyTypeOf, knownHostName, type KnownHostEntry } from './known-hosts.js';

/** Every error code this package raises; stable, documented in docs/l3-os.md. */
export const SSH_ERROR_CODES = [
  'LAB_SSH_UNREACHABLE',
  'LAB_SSH_HOSTKEY_UNKNOWN',
  'LAB_SSH_HOSTKEY_CHANGED',
  'LAB_SSH_HOSTKEY_REVOKED',
  'LAB_SSH_AUTH',
  'LAB_SSH_DISCONNECTED',
  'LAB_SSH_TIMEOUT',
  'LAB_SSH_SILENT',
  'LAB_SSH_SUDO',
  'LAB_SSH_COMMAND_FAILED',
  'LAB_SSH_CLOSED',
] as const;
export type SshErrorCode = (typeof SSH_ERROR_CODES)[number];

function err(code: SshErrorCode, summary: string, extra: { detail?: string; hint?: string; cause?: unknown } = {}): LabError {
  return new LabError({ code, summary, ...extra });
}

export function hostKeyUnknown(label: string, host: string, port: number, file: string, presented: Buffer, fileExists: boolean): LabError {
  const line = formatKnownHostsLine(host, port, presented);
  return err('LAB_SSH_HOSTKEY_UNKNOWN', `host key of ${label} is not in the lab's known-hosts file`, {
    detail:
      `${knownHostName(host, port)} presented ${keyTypeOf(presented)} ${fingerprintOf(presented)}; ` +
      `${fileExists ? `${file} has no key for it` : `${file} does not exist yet`}. lab never trusts a key on first use.`,
    hint:
      `compare the fingerprint with the guest's own (\`ssh-keygen -lf /etc/ssh/ssh_host_${keyTypeOf(presented).replace(/^ssh-/, '').replace(/-.*/, '')}_key.pub\` on its console), ` +
      `then add this line to ${file}: ${line}`,
  });
}

export function hostKeyChanged(label: string, host: string, port: number, file: string, presented: Buffer, pinned: readonly KnownHostEntry[]): LabError {
  const where = pinned.map((e) => `${file}:${e.line} (${e.keyType} ${fingerprintOf(e.key)})`).join(', ');
  return err('LAB_SSH_HOSTKEY_CHANGED', `host key of ${label} has CHANGED; refusing to connect`, {
    detail:
      `${knownHostName(host, port)} presented ${keyTypeOf(presented)} ${fingerprintOf(presented)}, but lab pinned ${where}. ` +
      'Either the guest was rebuilt (new keys) or something is intercepting the connection.',
    hint:
      `if the VM was rebuilt on purpose, drop the old key with \`ssh-keygen -R '${knownHostName(host, port)}' -f ${file}\` ` +
      `and pin the new one: ${formatKnownHostsLine(host, port, presented)}`,
  });
}

export function hostKeyRevoked(label: string, file: string, entry: KnownHostEntry): LabError {
  return err('LAB_SSH_HOSTKEY_REVOKED', `host key of ${label} is marked @revoked in ${file}:${entry.line}`, {
    hint: 'a revoked key must never be accepted again: rebuild the guest with new host keys',
  });
}

const REFUSED_HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens on that port: is the VM running and sshd started? `lab check --layer l2 --persona <name>` shows its state',
  ETIMEDOUT: 'no answer: check the VM is running and its network/firewall lets SSH in',
  EHOSTUNREACH: 'no route to the host: check the address in the persona and the Proxmox node network',
  ENOTFOUND: 'the host name does not resolve: use the address from the persona',
};

export function unreachable(label: string, cause: unknown, via?: string): LabError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = cause instanceof Error ? cause.message : String(cause);
  const forward = /open failed|forward|administratively prohibited|Connection refused/i.test(message) && via !== undefined;
  return err('LAB_SSH_UNREACHABLE', `cannot reach ${label} over SSH${via ? ` (through ${via})` : ''}`, {
    detail: message,
    hint: forward
      ? `the jump host ${via} could not open a connection to the guest's sshd: is the VM running? \`lab check --layer l2 --persona <name>\` shows its state`
      : (REFUSED_HINTS[code] ?? 'check the VM is running (`lab check --layer l2 --persona <name>`) and that the address and port in the persona are right'),
    cause,
  });
}

export function authFailed(label: string, username: string, cause: unknown): LabError {
  return err('LAB_SSH_AUTH', `${label} refused the SSH key for user ${username}`, {
    detail: cause instanceof Error ? cause.message : String(cause),
    hint: `check that the persona's public key is in ~${username}/.ssh/authorized_keys on the guest (cloud-init puts it there at first boot)`,
    cause,
  });
}

export function disconnected(label: string, what: string, cause?: unknown): LabError {
  return err('LAB_SSH_DISCONNECTED', `connection to ${label} dropped ${what}`, {
    ...(cause === undefined ? {} : { detail: cause instanceof Error ? cause.message : String(cause), cause }),
    hint: 'run the command again: every lab apply converges from wherever the previous one stopped',
  });
}

function lastSeen(lines: readonly string[]): string {
  return lines.length > 0 ? `last output:\n${lines.map((l) => `  ${l}`).join('\n')}` : 'it printed nothing at all';
}

/** The overall safety bound (`ssh.commandTimeout`) ran out while the command still printed. */
export function timedOut(label: string, what: string, ms: number, lines: readonly string[] = []): LabError {
  return err('LAB_SSH_TIMEOUT', `${what} on ${label} still ran after ${formatSeconds(ms)}`, {
    detail: lastSeen(lines),
    hint: 'the command kept printing but never ended: look at the guest for a runaway process (`lab ssh --persona <name>`); if the work is legitimately that long, raise ssh.commandTimeout (seconds) in lab.yaml',
  });
}

/** Nothing on stdout or stderr for `silentMs`: the command is taken for hung (adr/0155). */
export function silent(label: string, what: string, silentMs: number, lines: readonly string[]): LabError {
  return err('LAB_SSH_SILENT', `${what} on ${label} printed nothing for ${formatSeconds(silentMs)}; lab stopped it`, {
    detail: lastSeen(lines),
    hint: 'look at the guest for a hung process, e.g. a dpkg prompt or a lock (`lab ssh --persona <name>`); if the work is legitimately quiet that long, raise ssh.silenceTimeout (seconds) in lab.yaml',
  });
}

function formatSeconds(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function sudoRefused(label: string, username: string, stderr: string): LabError {
  return err('LAB_SSH_SUDO', `sudo refused for ${username} on ${label}`, {
    detail: stderr.trim(),
    hint: `give ${username} password-less sudo (cloud-init: \`sudo: ALL=(ALL) NOPASSWD:ALL\`), or pass sudoPassword in the SSH target`,
  });
}

export function commandFailed(label: string, command: string, code: number | null, stderr: string): LabError {
  return err('LAB_SSH_COMMAND_FAILED', `command failed on ${label} with exit code ${code ?? 'none'}: ${command.split('\n')[0]?.slice(0, 120)}`, {
    detail: stderr.trim().split('\n').slice(-15).join('\n'),
  });
}

export function closedError(label: string): LabError {
  return err('LAB_SSH_CLOSED', `the SSH connection to ${label} was closed by lab`, {
    hint: 'this is a bug in lab: a connection was used after close()',
  });
}
