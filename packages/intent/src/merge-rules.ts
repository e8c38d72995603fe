/**
 * How lists combine when a persona includes mixins (adr/0011-composition-and-merge-rules.md).
 * Maps always merge deeply with the including file winning; lists follow this table, keyed by
 * their schema path (`[]` stands for "every item"). A list not named here is replaced as a whole.
 */

/** A keyed list merges item by item; `key` names the identifying fields (`a|b`: a, else b). */
export interface KeyedRule {
  readonly kind: 'keyed';
  readonly key: readonly string[];
  /** Items may be written as a bare string meaning `{ <key>: string }` (packages). */
  readonly shorthand?: boolean;
  /**
   * What `$remove` of an inherited item leaves in its place. Unset: nothing (the item is no
   * longer declared). For packages, `{ state: absent }`: a package a persona removes from what
   * its mixins install must be gone from the guest, not merely no longer managed.
   */
  readonly removeAs?: Readonly<Record<string, string>>;
}

/** A set of scalars: union, first occurrence keeps its place. */
export interface SetRule {
  readonly kind: 'set';
}

export type MergeRule = KeyedRule | SetRule;

const keyed = (...key: string[]): KeyedRule => ({ kind: 'keyed', key });
const set: SetRule = { kind: 'set' };

export const MERGE_RULES: Readonly<Record<string, MergeRule>> = {
  'vm.disks': keyed('name'),
  'vm.tags': set,
  'vm.dns.servers': set,
  'vm.dns.search': set,
  'os.users': keyed('name'),
  'os.users[].groups': set,
  'os.users[].sshKeys': set,
  'os.groups': keyed('name'),
  'os.packages': { kind: 'keyed', key: ['name'], shorthand: true, removeAs: { state: 'absent' } },
  'os.apt.repositories': keyed('name'),
  'os.files': keyed('path'),
  'os.directories': keyed('path'),
  'os.lines': keyed('path', 'match|line'),
  'os.blocks': keyed('path', 'marker'),
  'os.systemd.units': keyed('name'),
  'os.systemd.services': keyed('name'),
  'os.firewall.allow': keyed('name'),
  'os.mounts': keyed('path'),
  'os.hosts': keyed('ip'),
  'os.modules': set,
  'os.ntp.servers': set,
  'os.unattendedUpgrades.origins': set,
  'workloads.stacks': keyed('name'),
  'workloads.stacks[].files': keyed('path'),
  'workloads.stacks[].profiles': set,
  'workloads.stacks[].dependsOn': set,
  'workloads.stacks[].health.probes': keyed('name'),
  'capture.paths': set,
  'capture.exclude': set,
  'capture.consistency.stacks': set,
};

export function mergeRule(schemaPath: string): MergeRule | undefined {
  // Paths come from user keys: `__proto__` must not find Object.prototype.
  return Object.hasOwn(MERGE_RULES, schemaPath) ? MERGE_RULES[schemaPath] : undefined;
}

/** `os.users[].groups` for the data path `['os', 'users', 3, 'groups']`. */
export function schemaPathOf(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? '[]' : out === '' ? p : `.${p}`;
  return out;
}

/** Human wording of a rule, for the reference doc. */
export function describeRule(rule: MergeRule | undefined): string {
  if (rule === undefined) return 'replaced as a whole by the including file';
  if (rule.kind === 'set') return 'union (inherited items first); remove one with `- $remove: <value>`';
  const key = rule.key.map((k) => k.split('|').map((f) => `\`${f}\``).join(' or ')).join(' + ');
  const remove = rule.key.length === 1 ? `\`- $remove: <${rule.key[0]}>\`` : `\`- $remove: { ${rule.key.map((k) => `${k.split('|')[0]}: …`).join(', ')} }\``;
  const leaves = rule.removeAs ? `, which leaves it as \`${Object.entries(rule.removeAs).map(([k, v]) => `${k}: ${v}`).join(', ')}\` (removed from the machine, not merely unmanaged)` : '';
  return `merged by ${key} (items deep-merge, new items append); remove one with ${remove}${leaves}`;
}
