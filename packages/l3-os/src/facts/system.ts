import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

export interface HostInfo {
  readonly os: string;
  readonly codename: string;
  readonly arch: string;
  /** `docker`, `lxc`… when the guest is a container, '' on a VM. */
  readonly container: string;
}

export const hostInfoFact: Fact<HostInfo> = {
  name: 'host',
  command: `. /etc/os-release; printf '%s\\n' "$ID" "$VERSION_CODENAME" "$(dpkg --print-architecture)" "$(systemd-detect-virt -c 2>/dev/null)"`,
  parse(stdout) {
    const [os = '', codename = '', arch = '', container = ''] = stdout.split('\n');
    return { os, codename, arch, container: container === 'none' ? '' : container };
  },
  empty: { os: '', codename: '', arch: '', container: '' },
};

export interface HostnameInfo {
  readonly transient: string;
  readonly static: string;
}

export const hostnameFact: Fact<HostnameInfo> = {
  name: 'hostname',
  command: 'hostname; cat /etc/hostname 2>/dev/null',
  parse(stdout) {
    const [transient = '', stat = ''] = stdout.split('\n');
    return { transient: transient.trim(), static: stat.trim() };
  },
  empty: { transient: '', static: '' },
};

export interface TimezoneInfo {
  /** Zone /etc/localtime points at ('' if not a link into zoneinfo). */
  readonly localtime: string;
  /** Content of /etc/timezone. */
  readonly file: string;
}

export const timezoneFact: Fact<TimezoneInfo> = {
  name: 'timezone',
  command: 'readlink /etc/localtime; echo; cat /etc/timezone 2>/dev/null',
  parse(stdout) {
    const lines = stdout.split('\n').map((l) => l.trim()).filter((l, i) => i === 0 || l !== '');
    const link = lines[0] ?? '';
    const m = /zoneinfo\/(.+)$/.exec(link);
    return { localtime: m ? m[1]! : '', file: lines[1] ?? '' };
  },
  empty: { localtime: '', file: '' },
};

/** Generated locales as `locale -a` lists them (`C.utf8`, `en_US.utf8`…). */
export const localesFact: Fact<readonly string[]> = {
  name: 'locales',
  command: 'locale -a 2>/dev/null',
  parse: (stdout) => stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort(),
  empty: [],
};

export interface SysctlInfo {
  readonly exists: boolean;
  /** Whitespace-normalised value. */
  readonly value: string;
  /** False where the kernel parameter cannot be changed from here (a container's read-only /proc/sys). */
  readonly writable: boolean;
}

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes('/') ? key : key.replace(/\./g, '/')}`;
}

export function sysctlFact(key: string): Fact<SysctlInfo> {
  return {
    name: 'sysctl',
    arg: key,
    // Builtins only (mapfile, word splitting): no process per parameter.
    command: `f=${shq(sysctlPath(key))}\n[ -e "$f" ] || return 3\nmapfile -t lab_v <"$f"; set -f; set -- \${lab_v[*]}; set +f; printf '%s\\n' "$*"\n[ -w "$f" ] && echo rw || echo ro`,
    parse(stdout, code) {
      if (code === 3) return { exists: false, value: '', writable: false };
      const [value = '', rw = ''] = stdout.split('\n');
      return { exists: true, value: value.trim(), writable: rw.trim() === 'rw' };
    },
    empty: { exists: false, value: '', writable: false },
  };
}

export interface MountInfo {
  readonly target: string;
  readonly source: string;
  readonly fstype: string;
  readonly options: string;
}

function unescape(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Mounted file systems (`findmnt`), for `mounts` with state mounted/unmounted. */
export const mountsFact: Fact<readonly MountInfo[]> = {
  name: 'mounts',
  command: 'findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS',
  parse(stdout) {
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [target = '', source = '', fstype = '', options = ''] = line.split(' ');
        return { target: unescape(target), source: unescape(source), fstype, options };
      });
  },
  empty: [],
};

export interface NftTableInfo {
  /** Whether the `nft` command exists. */
  readonly available: boolean;
  readonly present: boolean;
  /** The table's comment, where lab records the digest of the ruleset it loaded. */
  readonly comment: string;
}

export function nftTableFact(family: string, table: string): Fact<NftTableInfo> {
  return {
    name: 'nft.table',
    arg: `${family} ${table}`,
    command: [
      'command -v nft >/dev/null || return 3',
      `if out=$(nft list table ${shq(family)} ${shq(table)} 2>/dev/null); then`,
      `  echo present; printf '%s\\n' "$out" | sed -n 's/^[[:space:]]*comment "\\(.*\\)"[[:space:]]*$/\\1/p' | head -n1`,
      'else echo absent; fi',
    ].join('\n'),
    parse(stdout, code) {
      if (code === 3) return { available: false, present: false, comment: '' };
      const [state = '', comment = ''] = stdout.split('\n');
      return { available: true, present: state.trim() === 'present', comment: comment.trim() };
    },
    empty: { available: false, present: false, comment: '' },
  };
}
