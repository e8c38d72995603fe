import type { Diagnostic } from '@lab/core';
import { shq } from '@lab/ssh';
import { pathFact } from '../facts/files.js';
import { sysctlFact } from '../facts/system.js';
import { splitLines, unifiedDiff } from './_text.js';
import { writtenPath } from './files.js';
import { makeChange, noopChange, result, type L3Change, type OpContext, type Operation, type Step } from './operation.js';

export const SYSCTL_FILE = '/etc/sysctl.d/90-lab.conf';

export function sysctlValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v).trim().replace(/\s+/g, ' ');
}

export function sysctlFileContent(entries: Readonly<Record<string, string>>): string {
  const keys = Object.keys(entries).sort();
  return ['# Managed by lab: kernel parameters from the persona (os.sysctl).', ...keys.map((k) => `${k} = ${entries[k]}`)].join('\n') + '\n';
}

function parseSysctlFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of splitLines(text)) {
    const m = /^\s*([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.replace(/\s+/g, ' '));
  }
  return out;
}

/**
 * Kernel parameters: persisted in one drop-in file (applied at every boot) and applied live
 * where the kernel lets this guest change them. A container's /proc/sys is read-only: such a
 * key is persisted, reported as a warning, and not counted as pending, so a container guest
 * converges instead of failing.
 */
export function sysctlOp(ctx: OpContext, declared: Readonly<Record<string, string | number | boolean>>): Operation {
  const entries: Record<string, string> = Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, sysctlValue(v)]));
  const keys = Object.keys(entries).sort();
  const live = new Map(keys.map((k) => [k, sysctlFact(k)]));
  const file = pathFact(SYSCTL_FILE);
  const content = sysctlFileContent(entries);
  return {
    id: 'sysctl',
    facts: [file, ...live.values()],
    plan(facts) {
      const f = facts.get(file);
      const persisted = f.exists && f.content !== undefined ? parseSysctlFile(f.content) : new Map<string, string>();
      const fileOk = f.exists && f.content === content;
      const steps: Step[] = [];
      const diagnostics: Diagnostic[] = [];
      if (!fileOk && (keys.length > 0 || f.exists)) {
        steps.push(keys.length > 0
          ? { kind: 'write', description: `write ${SYSCTL_FILE}`, path: SYSCTL_FILE, content, mode: '0644', owner: 'root', group: 'root' }
          : { kind: 'shell', description: `remove ${SYSCTL_FILE}`, script: `rm -f ${SYSCTL_FILE}` });
      }
      const changes: L3Change[] = [];
      for (const k of keys) {
        const info = facts.get(live.get(k)!);
        const want = entries[k]!;
        const persistOk = persisted.get(k) === want;
        const liveOk = info.exists && info.value === want;
        const canApply = info.exists && info.writable;
        if (!info.exists) {
          diagnostics.push({ severity: 'warning', code: 'LAB_L3_SYSCTL_UNKNOWN', summary: `the kernel has no parameter ${k}; it is persisted but not applied`, hint: 'check the key name (`sysctl -a | grep <part>`) or the kernel module that provides it' });
        } else if (!liveOk && !canApply) {
          diagnostics.push({ severity: 'warning', code: 'LAB_L3_SYSCTL_READONLY', summary: `${k} is read-only on this guest (${info.value} ≠ ${want}); persisted for the next boot, not applied`, hint: 'in a container the host owns kernel parameters: set them on the host or with `docker run --sysctl`' });
        }
        if (!liveOk && canApply) steps.push({ kind: 'shell', description: `sysctl ${k}=${want}`, script: `sysctl -q -w ${shq(`${k}=${want}`)}` });
        const liveDue = !liveOk && canApply;
        if (persistOk && !liveDue) {
          changes.push(noopChange(ctx, 'sysctl', k, liveOk ? 'applied and persisted' : `persisted; live value ${info.value || '(none)'} cannot be changed here`, { value: want }));
          continue;
        }
        const diff = [
          ...(!persistOk ? [{ path: 'persisted', ...(persisted.has(k) ? { before: persisted.get(k) } : {}), after: want }] : []),
          ...(liveDue ? [{ path: 'live', before: info.value, after: want }] : []),
        ];
        changes.push(makeChange(ctx, 'sysctl', k, { action: persisted.has(k) || info.exists ? 'update' : 'create', before: { persisted: persisted.get(k), live: info.value }, after: { persisted: want, live: canApply ? want : info.value }, diff, steps: steps.filter((s) => s.description.includes(k) || s.kind === 'write') }));
      }
      for (const [k, v] of persisted) {
        if (!(k in entries)) changes.push(makeChange(ctx, 'sysctl', k, { action: 'delete', before: { persisted: v }, diff: [{ path: 'persisted', before: v, note: 'live value stays until reboot' }], steps }));
      }
      if (!fileOk && (keys.length > 0 || f.exists) && !changes.some((c) => c.action !== 'noop')) changes.push(makeChange(ctx, 'file', SYSCTL_FILE, { action: keys.length ? 'update' : 'delete', steps }));
      const unified = !fileOk && f.exists ? unifiedDiff(SYSCTL_FILE, f.content ?? '', keys.length ? content : '') : undefined;
      const first = changes.findIndex((c) => c.action !== 'noop');
      if (unified && first >= 0) changes[first] = { ...changes[first]!, unifiedDiff: unified };
      const predicts = [
        [file, keys.length ? writtenPath(content, { mode: '0644', owner: 'root', group: 'root' }, true) : { exists: false }] as const,
        ...keys.map((k) => {
          const info = facts.get(live.get(k)!);
          return [live.get(k)!, info.writable ? { ...info, value: entries[k]! } : info] as const;
        }),
      ];
      return result(changes, steps.length && changes.some((c) => c.action !== 'noop') ? steps : [], { diagnostics, predicts });
    },
  };
}
