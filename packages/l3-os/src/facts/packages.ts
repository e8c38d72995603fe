import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

export type Selection = 'install' | 'hold' | 'deinstall' | 'purge' | 'unknown';

export interface DebPackage {
  readonly version: string;
  readonly selection: Selection;
  /** `installed`, `config-files` (removed, configuration left), or `broken` (half-installed, unpacked…). */
  readonly status: 'installed' | 'config-files' | 'broken' | 'not-installed';
}

const SELECTIONS: Record<string, Selection> = { i: 'install', h: 'hold', r: 'deinstall', p: 'purge', u: 'unknown' };

/** Every package dpkg knows, with its selection (hold) and status: one dpkg-query for all of them. */
export const debPackagesFact: Fact<Readonly<Record<string, DebPackage>>> = {
  name: 'deb.packages',
  command: `dpkg-query -W -f='\${db:Status-Abbrev}|\${Package}|\${Version}\\n'`,
  parse(stdout, code) {
    if (code !== 0) throw new Error(`dpkg-query exited with ${code}`);
    const out: Record<string, DebPackage> = {};
    for (const line of stdout.split('\n')) {
      const [abbrev = '', name, version = ''] = line.split('|');
      if (!name) continue;
      const s = abbrev[1];
      const status = s === 'i' ? 'installed' : s === 'c' ? 'config-files' : s === 'n' ? 'not-installed' : 'broken';
      if (status === 'not-installed') continue;
      out[name] = { version, selection: SELECTIONS[abbrev[0] ?? 'u'] ?? 'unknown', status };
    }
    return out;
  },
  empty: {},
};

export interface AptCandidate {
  readonly installed?: string;
  readonly candidate?: string;
}

/** Installed and candidate versions (for `latest` and pinned versions) from apt's cached lists. */
export function aptPolicyFact(names: readonly string[]): Fact<Readonly<Record<string, AptCandidate>>> {
  const sorted = [...new Set(names)].sort();
  return {
    name: 'apt.policy',
    arg: sorted.join(','),
    command: `apt-cache policy -- ${sorted.map(shq).join(' ')}`,
    parse(stdout) {
      const out: Record<string, AptCandidate> = {};
      let current: string | undefined;
      for (const line of stdout.split('\n')) {
        const head = /^(\S+):$/.exec(line);
        if (head) {
          current = head[1]!.replace(/:\w+$/, '');
          out[current] = {};
          continue;
        }
        const m = /^\s+(Installed|Candidate): (.+)$/.exec(line);
        if (m && current) {
          const v = m[2]!.trim();
          const key = m[1] === 'Installed' ? 'installed' : 'candidate';
          if (v !== '(none)') out[current] = { ...out[current], [key]: v };
        }
      }
      return out;
    },
    empty: {},
  };
}

export interface AptLists {
  /** Unix time of the newest Release file; 0 when apt has no lists at all. */
  readonly updatedAt: number;
  readonly now: number;
}

/** How fresh apt's package lists are; volatile (it contains the guest's clock). */
export const aptListsFact: Fact<AptLists> = {
  name: 'apt.lists',
  command: `stat -c %Y /var/lib/apt/lists/*Release 2>/dev/null | sort -n | tail -n1; echo; date +%s`,
  parse(stdout) {
    const nums = stdout.split('\n').map((l) => l.trim()).filter(Boolean).map(Number);
    return nums.length >= 2 ? { updatedAt: nums[0]!, now: nums[1]! } : { updatedAt: 0, now: nums[0] ?? 0 };
  },
  empty: { updatedAt: 0, now: 0 },
  volatile: true,
};

/**
 * Installed packages that depend on each of `names` (`apt-cache rdepends --installed`, hard
 * dependencies only): what purging one of them would take along, or what keeps it installed.
 */
export function reverseDependsFact(names: readonly string[]): Fact<Readonly<Record<string, readonly string[]>>> {
  const sorted = [...new Set(names)].sort();
  return {
    name: 'apt.rdepends',
    arg: sorted.join(','),
    command: `apt-cache rdepends --installed --no-suggests --no-recommends --no-enhances --no-conflicts --no-breaks --no-replaces -- ${sorted.map(shq).join(' ')} 2>/dev/null; return 0`,
    parse(stdout) {
      const out: Record<string, string[]> = {};
      let current: string | undefined;
      for (const line of stdout.split('\n')) {
        if (line.trim() === '' || line.startsWith('Reverse Depends:')) continue;
        if (!/^\s/.test(line)) {
          current = line.trim().replace(/:\w+$/, '');
          out[current] = [];
        } else if (current) {
          const dep = line.trim().replace(/^\|/, '').replace(/:\w+$/, '');
          if (dep && dep !== current && !out[current]!.includes(dep)) out[current]!.push(dep);
        }
      }
      return out;
    },
    empty: {},
  };
}
