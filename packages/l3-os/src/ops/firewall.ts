import { pathFact } from '../facts/files.js';
import { nftTableFact } from '../facts/system.js';
import { unifiedDiff } from './_text.js';
import { writtenPath } from './files.js';
import { makeChange, noopChange, result, sha256, shortDigest, type OpContext, type Operation, type Step } from './operation.js';

export interface FirewallRule {
  readonly name: string;
  readonly port: number | string;
  readonly proto: 'tcp' | 'udp';
  readonly from: readonly string[];
  readonly iface?: string;
}

export interface FirewallSpec {
  readonly enabled: boolean;
  readonly policy: { readonly input: 'drop' | 'accept'; readonly forward: 'drop' | 'accept'; readonly output: 'drop' | 'accept' };
  readonly allowPing: boolean;
  readonly allow: readonly FirewallRule[];
  /** Docker runs in this guest (L4): its bridges must keep forwarding. */
  readonly docker: boolean;
}

export const NFT_FILE = '/etc/nftables.conf';
const DIGEST_PLACEHOLDER = 'lab:DIGEST';

function covers22(r: FirewallRule): boolean {
  if (r.proto !== 'tcp' || r.from.length > 0 || r.iface) return false;
  if (typeof r.port === 'number') return r.port === 22;
  const [lo, hi] = r.port.split('-').map(Number);
  return lo! <= 22 && 22 <= hi!;
}

function ruleText(r: FirewallRule): string {
  const parts = [
    ...(r.iface ? [`iifname "${r.iface}"`] : []),
    ...(r.from.length ? [`ip saddr { ${r.from.join(', ')} }`] : []),
    `${r.proto} dport ${r.port}`,
    'accept',
    `comment "${r.name.replace(/"/g, '')}"`,
  ];
  return parts.join(' ');
}

/**
 * The whole ruleset as nft text. It owns one table (`inet lab`) and never flushes the ruleset,
 * so Docker's own tables survive. SSH (22/tcp) is always accepted: lab must be able to come
 * back and fix a mistake. The table's comment carries the digest of the text, which is how a
 * later run sees whether the loaded rules are the ones in the file.
 */
export function nftRuleset(spec: FirewallSpec): string {
  const input = [
    'ct state established,related accept',
    'ct state invalid drop',
    'iifname "lo" accept',
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    ...(spec.allowPing ? ['icmp type echo-request accept', 'icmpv6 type echo-request accept'] : []),
    ...(spec.allow.some(covers22) ? [] : ['tcp dport 22 accept comment "lab-ssh"']),
    ...spec.allow.map(ruleText),
  ];
  const forward = [
    'ct state established,related accept',
    ...(spec.docker ? ['iifname "docker0" accept', 'oifname "docker0" accept', 'iifname "br-*" accept', 'oifname "br-*" accept'] : []),
  ];
  const chain = (name: string, hook: string, policy: string, rules: readonly string[]) =>
    [`\tchain ${name} {`, `\t\ttype filter hook ${hook} priority filter; policy ${policy};`, ...rules.map((r) => `\t\t${r}`), '\t}'].join('\n');
  const text = [
    '#!/usr/sbin/nft -f',
    '# Managed by lab from the persona (os.firewall); changes here are overwritten.',
    'table inet lab',
    'delete table inet lab',
    'table inet lab {',
    `\tcomment "${DIGEST_PLACEHOLDER}"`,
    chain('input', 'input', spec.policy.input, input),
    chain('forward', 'forward', spec.policy.forward, forward),
    chain('output', 'output', spec.policy.output, []),
    '}',
    '',
  ].join('\n');
  return text.replace(DIGEST_PLACEHOLDER, `lab:${sha256(text).slice(0, 16)}`);
}

export function firewallOp(ctx: OpContext, spec: FirewallSpec): Operation {
  const file = pathFact(NFT_FILE);
  const table = nftTableFact('inet', 'lab');
  const text = nftRuleset(spec);
  const comment = /comment "(lab:[0-9a-f]+)"/.exec(text)![1]!;
  return {
    id: 'firewall',
    facts: [file, table],
    plan(facts) {
      const f = facts.get(file);
      const t = facts.get(table);
      if (!spec.enabled) {
        if (!t.present) return result([noopChange(ctx, 'firewall', undefined, 'not managed (disabled); no lab table loaded')]);
        const steps: Step[] = [{ kind: 'shell', description: 'nft delete table inet lab', script: 'nft delete table inet lab' }];
        return result([makeChange(ctx, 'firewall', undefined, { action: 'delete', impact: 'reload', before: { loaded: t.comment }, steps })], steps, {
          predicts: [[table, { ...t, present: false, comment: '' }]],
        });
      }
      const fileOk = f.exists && f.content === text;
      const liveOk = t.present && t.comment === comment;
      if (fileOk && liveOk) return result([noopChange(ctx, 'firewall', undefined, `ruleset ${comment} written and loaded`, { rules: spec.allow.map((r) => r.name) })]);
      const steps: Step[] = [];
      if (!fileOk) steps.push({ kind: 'write', description: `write ${NFT_FILE}`, path: NFT_FILE, content: text, mode: '0755', owner: 'root', group: 'root', validate: 'nft -c -f %s' });
      steps.push({ kind: 'shell', description: 'load the ruleset (nft -f)', script: `nft -f ${NFT_FILE}` });
      const unified = !fileOk ? unifiedDiff(NFT_FILE, f.exists ? (f.content ?? '') : '', text) : undefined;
      const before = { file: shortDigest(f.exists ? f.sha256 : undefined), loaded: t.present ? t.comment || '(no digest)' : false };
      const after = { file: shortDigest(sha256(text)), loaded: comment };
      return result(
        [makeChange(ctx, 'firewall', undefined, { action: f.exists || t.present ? 'update' : 'create', impact: 'reload', before, after, diff: [...(fileOk ? [] : [{ path: 'file', before: before.file, after: after.file }]), ...(liveOk ? [] : [{ path: 'loaded', before: before.loaded, after: comment }])], steps, ...(unified ? { unifiedDiff: unified } : {}) })],
        steps,
        {
          predicts: [
            [file, writtenPath(text, { mode: '0755', owner: 'root', group: 'root' }, true)],
            [table, { available: true, present: true, comment }],
          ],
        },
      );
    },
  };
}
