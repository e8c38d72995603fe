import type { Reporter } from '@lab/core';
import type { SshConnection } from '@lab/ssh';
import { captureError, tail } from './errors.js';

export interface ResticInGuest {
  /** e.g. `0.14.0`. */
  readonly version: string;
  /** Whether this call installed restic (and socat) with apt. */
  readonly installed: boolean;
}

/** `copy --from-repo` and `restore --verify` arrived in restic 0.14 (Debian 12's version). */
const MIN_VERSION = [0, 14] as const;

function tooOld(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]);
}

/**
 * restic runs in the guest, next to the data it reads. Install Debian's `restic` (and `socat`,
 * the guest end of the bridge to local repositories) with apt when they are missing; report
 * the version.
 */
export async function ensureRestic(conn: SshConnection, reporter?: Reporter): Promise<ResticInGuest> {
  const script = [
    'if command -v restic >/dev/null 2>&1 && command -v socat >/dev/null 2>&1; then echo @@present; else',
    '  export DEBIAN_FRONTEND=noninteractive',
    // -q, not -qq: apt then says what it does (and that it waits for a lock) — signs of life for the silence limit.
    '  apt-get -q -o DPkg::Lock::Timeout=300 update >&2 || return 1',
    '  apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends restic socat >&2 || return 1',
    '  echo @@installed',
    'fi',
    'restic version',
  ].join('\n');
  const present = await conn.script('command -v restic >/dev/null 2>&1 && command -v socat >/dev/null 2>&1', { sudo: true, timeoutMs: 30_000 });
  if (present.code !== 0) reporter?.emit({ type: 'log', level: 'info', message: `installing restic and socat in ${conn.label} (apt)` });
  const r = await conn.script(script, { sudo: true, timeoutMs: 900_000, label: 'installing restic and socat' });
  if (r.code !== 0) {
    throw captureError('LAB_CAPTURE_RESTIC_MISSING', `cannot install restic in ${conn.label}`, {
      detail: tail(r.stderr),
      hint: 'the guest needs Debian’s restic and socat packages: check its apt sources (L3), then run the capture again',
    });
  }
  const version = /restic (\d+\.\d+\.\d+)/.exec(r.stdout)?.[1] ?? 'unknown';
  if (version !== 'unknown' && tooOld(version)) {
    throw captureError('LAB_CAPTURE_RESTIC_MISSING', `restic ${version} in ${conn.label} is too old (lab needs ${MIN_VERSION.join('.')} or newer)`, {
      hint: 'upgrade the guest to Debian 12 or install a newer restic there',
    });
  }
  return { version, installed: r.stdout.includes('@@installed') };
}
