import { shq } from '@lab/ssh';
import { pathFact } from '../facts/files.js';
import { hostnameFact, localesFact, timezoneFact } from '../facts/system.js';
import { editLine, unifiedDiff } from './_text.js';
import { writtenPath } from './files.js';
import { fieldDiffs, makeChange, noopChange, result, sha256, shortDigest, type OpContext, type Operation, type Step } from './operation.js';

export interface HostnameSpec {
  readonly hostname: string;
  readonly domain?: string;
}

/** The Debian convention for the machine's own name: `127.0.1.1 <fqdn> <host>` in /etc/hosts. */
export function hostsLine(spec: HostnameSpec): string {
  return spec.domain ? `127.0.1.1\t${spec.hostname}.${spec.domain} ${spec.hostname}` : `127.0.1.1\t${spec.hostname}`;
}

/**
 * Host name: /etc/hostname (static), the kernel's name (transient) and the 127.0.1.1 line.
 * /etc/hostname and /etc/hosts may be bind mounts (containers); the write step handles that.
 */
export function hostnameOp(ctx: OpContext, spec: HostnameSpec): Operation {
  const hosts = pathFact('/etc/hosts');
  return {
    id: 'hostname',
    facts: [hostnameFact, hosts],
    plan(facts) {
      const h = facts.get(hostnameFact);
      const hostsInfo = facts.get(hosts);
      const hostsBefore = hostsInfo.exists ? (hostsInfo.content ?? '') : '';
      // cloud-init (manage_etc_hosts) writes the same line with a space where Debian puts a tab;
      // a line with the same words is already right, or every boot would look like drift.
      const words = (l: string) => l.trim().split(/\s+/).join(' ');
      const current = hostsBefore.split('\n').find((l) => /^127\.0\.1\.1\s/.test(l));
      const hostsAfter = current !== undefined && words(current) === words(hostsLine(spec)) ? hostsBefore : editLine(hostsBefore, { line: hostsLine(spec), match: '^127\\.0\\.1\\.1\\s', state: 'present' });
      const steps: Step[] = [];
      if (h.static !== spec.hostname) steps.push({ kind: 'write', description: 'write /etc/hostname', path: '/etc/hostname', content: `${spec.hostname}\n`, mode: '0644', owner: 'root', group: 'root' });
      if (h.transient !== spec.hostname) steps.push({ kind: 'shell', description: `hostname ${spec.hostname}`, script: `hostname ${shq(spec.hostname)}` });
      if (hostsAfter !== hostsBefore) {
        const own = hostsInfo.exists ? { mode: hostsInfo.mode, owner: hostsInfo.owner, group: hostsInfo.group } : { mode: '0644', owner: 'root', group: 'root' };
        steps.push({ kind: 'write', description: 'set 127.0.1.1 in /etc/hosts', path: '/etc/hosts', content: hostsAfter, ...own });
      }
      const fqdn = spec.domain ? `${spec.hostname}.${spec.domain}` : spec.hostname;
      if (steps.length === 0) return result([noopChange(ctx, 'hostname', undefined, `is ${fqdn}`, { hostname: spec.hostname })]);
      const before = { static: h.static, transient: h.transient, hosts: shortDigest(hostsInfo.exists ? hostsInfo.sha256 : undefined) };
      const after = { static: spec.hostname, transient: spec.hostname, hosts: shortDigest(sha256(hostsAfter)) };
      const unified = hostsAfter !== hostsBefore ? unifiedDiff('/etc/hosts', hostsBefore, hostsAfter) : undefined;
      return result(
        [makeChange(ctx, 'hostname', undefined, { action: 'update', before, after, diff: fieldDiffs(before, after, ['static', 'transient', 'hosts']), steps, ...(unified ? { unifiedDiff: unified } : {}) })],
        steps,
        {
          predicts: [
            [hostnameFact, { static: spec.hostname, transient: spec.hostname }],
            [hosts, writtenPath(hostsAfter, hostsInfo.exists ? { mode: hostsInfo.mode, owner: hostsInfo.owner, group: hostsInfo.group } : { mode: '0644', owner: 'root', group: 'root' }, true)],
          ],
        },
      );
    },
  };
}

export function timezoneOp(ctx: OpContext, tz: string): Operation {
  return {
    id: 'timezone',
    facts: [timezoneFact],
    plan(facts) {
      const t = facts.get(timezoneFact);
      if (t.localtime === tz && t.file === tz) return result([noopChange(ctx, 'timezone', undefined, `is ${tz}`, { timezone: tz })]);
      const zone = shq(`/usr/share/zoneinfo/${tz}`);
      const script = [
        `[ -f ${zone} ] || { echo "lab: no zone file ${tz} (is tzdata installed?)" >&2; return 1; }`,
        `ln -sfn ${zone} /etc/localtime && printf '%s\\n' ${shq(tz)} >/etc/timezone`,
      ].join('\n');
      const steps: Step[] = [{ kind: 'shell', description: `set time zone ${tz}`, script }];
      return result(
        [makeChange(ctx, 'timezone', undefined, { action: 'update', before: { timezone: t.localtime || t.file || '(unset)' }, after: { timezone: tz }, diff: [{ path: 'timezone', before: t.localtime || '(unset)', after: tz }], steps })],
        steps,
        { predicts: [[timezoneFact, { localtime: tz, file: tz }]] },
      );
    },
  };
}

/** `en_US.UTF-8` → `en_US.utf8`, the spelling `locale -a` prints. */
export function normalizeLocale(name: string): string {
  const [base = '', codeset] = name.split('.');
  return codeset ? `${base}.${codeset.toLowerCase().replace(/-/g, '')}` : base;
}

/** The /etc/locale.gen line for a locale: `en_US.UTF-8 UTF-8`; bare names use Debian's ISO-8859-1. */
export function localeGenLine(name: string): string {
  const codeset = name.split('.')[1]?.replace(/@.*/, '');
  return `${name} ${codeset ?? 'ISO-8859-1'}`;
}

/** The system locale: generated when missing, and LANG in /etc/default/locale. */
export function localeOp(ctx: OpContext, locale: string): Operation {
  const defaults = pathFact('/etc/default/locale');
  const builtin = /^(C|POSIX)(\.UTF-8)?$/.test(locale);
  return {
    id: 'locale',
    facts: [localesFact, defaults],
    plan(facts) {
      const available = facts.get(localesFact);
      const d = facts.get(defaults);
      const wantDefaults = `LANG=${locale}\n`;
      const generated = builtin || available.includes(normalizeLocale(locale));
      const steps: Step[] = [];
      if (!generated) {
        const line = localeGenLine(locale);
        const script = [
          `grep -qxF ${shq(line)} /etc/locale.gen 2>/dev/null || printf '%s\\n' ${shq(line)} >>/etc/locale.gen`,
          'locale-gen >/dev/null',
        ].join('\n');
        steps.push({ kind: 'shell', description: `generate locale ${locale}`, script });
      }
      const defaultsOk = d.exists && d.content === wantDefaults;
      if (!defaultsOk) steps.push({ kind: 'write', description: 'write /etc/default/locale', path: '/etc/default/locale', content: wantDefaults, mode: '0644', owner: 'root', group: 'root' });
      if (steps.length === 0) return result([noopChange(ctx, 'locale', undefined, `${locale} generated and default`, { locale })]);
      const before = { generated, lang: d.exists ? (d.content ?? '').trim() : '(unset)' };
      const after = { generated: true, lang: wantDefaults.trim() };
      return result(
        [makeChange(ctx, 'locale', undefined, { action: 'update', before, after, diff: fieldDiffs(before, after, ['generated', 'lang']), steps })],
        steps,
        {
          predicts: [
            [localesFact, generated ? available : [...available, normalizeLocale(locale)].sort()],
            [defaults, writtenPath(wantDefaults, { mode: '0644', owner: 'root', group: 'root' }, true)],
          ],
        },
      );
    },
  };
}
