import { groupFact, passwdFact, shadowDigestFact } from './accounts.js';
import { blockDeviceFact } from './block.js';
import type { Fact } from './fact.js';
import { pathDigestFact, pathFact } from './files.js';
import { aptListsFact, aptPolicyFact, debPackagesFact, reverseDependsFact } from './packages.js';
import { hostInfoFact, hostnameFact, localesFact, mountsFact, nftTableFact, sysctlFact, timezoneFact } from './system.js';
import { unitFact } from './systemd.js';

type Factory = (arg: string | undefined) => Fact<unknown>;

const need = (name: string, arg: string | undefined): string => {
  if (arg === undefined) throw new TypeError(`fact ${name} needs an argument`);
  return arg;
};

/** Every fact by name, to rebuild facts from their keys (JSON fixtures, saved facts). */
export const FACTS: Readonly<Record<string, Factory>> = {
  host: () => hostInfoFact,
  hostname: () => hostnameFact,
  timezone: () => timezoneFact,
  locales: () => localesFact,
  mounts: () => mountsFact,
  passwd: () => passwdFact,
  group: () => groupFact,
  'deb.packages': () => debPackagesFact,
  'apt.lists': () => aptListsFact,
  'apt.policy': (arg) => aptPolicyFact(need('apt.policy', arg).split(',')),
  'apt.rdepends': (arg) => reverseDependsFact(need('apt.rdepends', arg).split(',')),
  path: (arg) => pathFact(need('path', arg)),
  block: (arg) => blockDeviceFact(need('block', arg)),
  'path.digest': (arg) => pathDigestFact(need('path.digest', arg)),
  'shadow.digest': (arg) => shadowDigestFact(need('shadow.digest', arg)),
  'systemd.unit': (arg) => unitFact(need('systemd.unit', arg)),
  sysctl: (arg) => sysctlFact(need('sysctl', arg)),
  'nft.table': (arg) => {
    const [family = 'inet', table = 'lab'] = need('nft.table', arg).split(' ');
    return nftTableFact(family, table);
  },
};

/** `path[/etc/motd]` → the fact it names. */
export function factFromKey(key: string): Fact<unknown> {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(key);
  const factory = m ? FACTS[m[1]!] : undefined;
  if (!m || !factory) throw new TypeError(`unknown fact ${key}`);
  return factory(m[2]);
}
