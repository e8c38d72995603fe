import type { Impact } from '@lab/core';
import { shq } from '@lab/ssh';
import { pathFact } from '../facts/files.js';
import { mountsFact, type MountInfo } from '../facts/system.js';
import { joinLines, splitLines, unifiedDiff } from './_text.js';
import { writtenPath } from './files.js';
import { fieldDiffs, makeChange, noopChange, result, type OpContext, type Operation, type Step } from './operation.js';

export type MountState = 'mounted' | 'present' | 'unmounted' | 'absent';

export interface MountSpec {
  readonly path: string;
  readonly device: string;
  readonly type: string;
  readonly options: readonly string[];
  readonly dump: number;
  readonly pass: number;
  readonly state: MountState;
}

/** fstab escapes blanks in fields as octal (`\040`). */
function fstabField(s: string): string {
  return s.replace(/[ \t\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function unfstab(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function fstabLine(spec: MountSpec): string {
  return [fstabField(spec.device), fstabField(spec.path), spec.type, spec.options.join(',') || 'defaults', spec.dump, spec.pass].join(' ');
}

/** The fstab with the line for `path` replaced, appended, or (null) removed; comments kept. */
export function editFstab(content: string, path: string, line: string | null): string {
  const lines = splitLines(content);
  const mine = (l: string) => {
    const f = l.trim().split(/\s+/);
    return !l.trim().startsWith('#') && f.length >= 2 && unfstab(f[1]!) === path;
  };
  const idx = lines.findIndex(mine);
  const rest = lines.filter((l, i) => i === idx || !mine(l));
  if (line === null) return joinLines(rest.filter((l) => !mine(l)));
  if (idx < 0) return joinLines([...rest, line]);
  return joinLines(rest.map((l) => (mine(l) ? line : l)));
}

function sameSource(m: MountInfo, spec: MountSpec): boolean {
  const fsMatch = m.fstype === spec.type || (spec.type === 'nfs' && m.fstype.startsWith('nfs')) || spec.type === 'none';
  const src = spec.device.replace(/\/+$/, '');
  return fsMatch && (m.source === spec.device || m.source.replace(/\/+$/, '') === src || spec.device.startsWith('UUID=') || spec.device.startsWith('LABEL='));
}

/**
 * An fstab entry and, for `mounted`, the live mount. The mount itself goes through fstab
 * (`mount <path>`), so what is mounted is exactly what boots will mount. A mount whose source
 * or type changed is unmounted first (impact restart: users of the path see it go away).
 */
export function mountOp(ctx: OpContext, spec: MountSpec): Operation {
  const fstab = pathFact('/etc/fstab');
  const p = shq(spec.path);
  return {
    id: `mount[${spec.path}]`,
    facts: [fstab, mountsFact],
    plan(facts) {
      const f = facts.get(fstab);
      const mounts = facts.get(mountsFact);
      const before = f.exists ? (f.content ?? '') : '';
      const line = spec.state === 'absent' ? null : fstabLine(spec);
      const after = editFstab(before, spec.path, line);
      const mounted = [...mounts].reverse().find((m) => m.target === spec.path);
      const steps: Step[] = [];
      let impact: Impact = 'none';
      if (after !== before) {
        const own = f.exists ? { mode: f.mode, owner: f.owner, group: f.group } : { mode: '0644', owner: 'root', group: 'root' };
        steps.push({ kind: 'write', description: 'update /etc/fstab', path: '/etc/fstab', content: after, ...own });
      }
      const wantMounted = spec.state === 'mounted';
      const wantUnmounted = spec.state === 'unmounted' || spec.state === 'absent';
      if (wantMounted && mounted && !sameSource(mounted, spec)) {
        steps.push({ kind: 'shell', description: `remount ${spec.path} from ${spec.device}`, script: `umount -- ${p} && mount -- ${p}` });
        impact = 'restart';
      } else if (wantMounted && !mounted) {
        steps.push({ kind: 'shell', description: `mount ${spec.path}`, script: `mkdir -p -- ${p} && mount -- ${p}` });
      } else if (wantUnmounted && mounted) {
        steps.push({ kind: 'shell', description: `unmount ${spec.path}`, script: `umount -- ${p}` });
        impact = 'restart';
      }
      const state = { fstab: before.includes(fstabLine(spec)) ? 'present' : 'missing', mounted: mounted ? mounted.source : false };
      if (steps.length === 0) return result([noopChange(ctx, 'mount', spec.path, `${spec.state} as declared`, state)]);
      const want = { fstab: line === null ? 'missing' : 'present', mounted: wantMounted ? spec.device : wantUnmounted ? false : state.mounted };
      const unified = after !== before ? unifiedDiff('/etc/fstab', before, after) : undefined;
      const predictedMounts: MountInfo[] = mounts.filter((m) => m.target !== spec.path);
      if (wantMounted) predictedMounts.push({ target: spec.path, source: spec.device, fstype: spec.type, options: spec.options.join(',') });
      else if (!wantUnmounted && mounted) predictedMounts.push(mounted);
      return result(
        [makeChange(ctx, 'mount', spec.path, { action: spec.state === 'absent' ? 'delete' : mounted || (f.exists && f.content?.includes(` ${fstabField(spec.path)} `)) ? 'update' : 'create', impact, before: state, after: want, diff: fieldDiffs(state, want, ['fstab', 'mounted']), steps, ...(unified ? { unifiedDiff: unified } : {}) })],
        steps,
        {
          predicts: [
            [fstab, writtenPath(after, f.exists ? { mode: f.mode, owner: f.owner, group: f.group } : { mode: '0644', owner: 'root', group: 'root' }, true)],
            [mountsFact, predictedMounts],
          ],
        },
      );
    },
  };
}
