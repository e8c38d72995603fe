import { shq } from '@lab/ssh';
import { pathFact } from '../facts/files.js';
import { unitFact, type UnitInfo } from '../facts/systemd.js';
import { unifiedDiff } from './_text.js';
import { writtenPath } from './files.js';
import type { Impact } from '@lab/core';
import { makeChange, noopChange, result, sha256, shortDigest, type OpContext, type Operation, type Step } from './operation.js';

export interface UnitFileSpec {
  readonly name: string;
  readonly content: string;
}

const ACTIVE = new Set(['active', 'reloading', 'activating']);

/**
 * A unit file under /etc/systemd/system. systemd is told immediately (daemon-reload in the same
 * step) so a service operation later in the apply starts the new definition; a unit that was
 * running is restarted by a handler at the end. A run that died between the write and the
 * reload is caught by systemd's own NeedDaemonReload flag on the next run.
 */
export function unitFileOp(ctx: OpContext, spec: UnitFileSpec): Operation {
  const path = `/etc/systemd/system/${spec.name}`;
  const file = pathFact(path);
  const unit = unitFact(spec.name);
  return {
    id: `systemd.unit[${spec.name}]`,
    facts: [file, unit],
    plan(facts) {
      const have = facts.get(file);
      const u = facts.get(unit);
      const same = have.exists && have.type === 'file' && have.content === spec.content && have.mode === '0644' && have.owner === 'root';
      if (same && !u.needDaemonReload) return result([noopChange(ctx, 'systemd.unit', spec.name, 'unit file matches and is loaded', { sha256: shortDigest(have.exists ? have.sha256 : undefined) })]);
      const running = ACTIVE.has(u.activeState);
      const steps: Step[] = [];
      if (!same) steps.push({ kind: 'write', description: `write ${path}`, path, content: spec.content, mode: '0644', owner: 'root', group: 'root' });
      steps.push({ kind: 'shell', description: 'systemctl daemon-reload', script: 'systemctl daemon-reload' });
      const unified = !same ? unifiedDiff(path, have.exists ? (have.content ?? '') : '', spec.content) : undefined;
      const impact: Impact = running ? 'restart' : 'reload';
      return result(
        [
          makeChange(ctx, 'systemd.unit', spec.name, {
            action: have.exists ? 'update' : 'create',
            impact,
            diff: same ? [{ path: 'loaded', before: false, after: true, note: 'systemd has not loaded the current file' }] : [{ path: 'content', before: shortDigest(have.exists ? have.sha256 : undefined), after: shortDigest(sha256(spec.content)) }],
            steps,
            ...(unified ? { unifiedDiff: unified } : {}),
          }),
        ],
        steps,
        {
          notify: running && !same ? [`restart:${spec.name}`] : [],
          predicts: [
            [file, writtenPath(spec.content, { mode: '0644', owner: 'root', group: 'root' }, true)],
            [unit, { ...u, loadState: 'loaded', needDaemonReload: false, unitFileState: u.unitFileState || 'disabled' } satisfies UnitInfo],
          ],
        },
      );
    },
  };
}

export interface ServiceSpec {
  readonly name: string;
  readonly enabled: boolean;
  readonly state: 'running' | 'stopped';
  readonly masked: boolean;
}

/** Unit file states where `systemctl enable` has nothing to do (or cannot do anything). */
const NOT_ENABLEABLE = new Set(['static', 'indirect', 'generated', 'transient', 'alias', 'enabled-runtime', 'linked', 'linked-runtime']);

export function serviceOp(ctx: OpContext, spec: ServiceSpec): Operation {
  const unit = unitFact(spec.name);
  const n = shq(spec.name);
  return {
    id: `systemd.service[${spec.name}]`,
    facts: [unit],
    plan(facts) {
      const u = facts.get(unit);
      const steps: Step[] = [];
      const notes: string[] = [];
      const before = { enabled: u.unitFileState, active: u.activeState };
      let impact: Impact = 'none';
      const isMasked = u.unitFileState === 'masked' || u.loadState === 'masked';
      if (spec.masked) {
        if (!isMasked) steps.push({ kind: 'shell', description: `mask ${spec.name}`, script: `systemctl mask -- ${n}` });
        if (ACTIVE.has(u.activeState)) {
          steps.push({ kind: 'shell', description: `stop ${spec.name}`, script: `systemctl stop -- ${n}` });
          impact = 'restart';
        }
      } else {
        if (isMasked) steps.push({ kind: 'shell', description: `unmask ${spec.name}`, script: `systemctl unmask -- ${n}` });
        const missing = u.loadState === 'not-found' && !isMasked;
        if (missing) notes.push('unit not installed yet; expected from a package or unit file earlier in this apply');
        const fileState = isMasked ? 'disabled' : u.unitFileState;
        if (spec.enabled && fileState !== 'enabled') {
          if (NOT_ENABLEABLE.has(fileState)) notes.push(`cannot be enabled (${fileState})`);
          else steps.push({ kind: 'shell', description: `enable ${spec.name}`, script: `systemctl enable -- ${n}` });
        }
        if (!spec.enabled && fileState === 'enabled') steps.push({ kind: 'shell', description: `disable ${spec.name}`, script: `systemctl disable -- ${n}` });
        const active = ACTIVE.has(u.activeState);
        if (spec.state === 'running' && !active) {
          if (!u.conditionMet && u.activeState === 'inactive' && !missing) {
            notes.push('start conditions not met on this machine (e.g. ConditionVirtualization in a container)');
          } else steps.push({ kind: 'shell', description: `start ${spec.name}`, script: `systemctl start -- ${n}` });
        }
        if (spec.state === 'stopped' && active) {
          steps.push({ kind: 'shell', description: `stop ${spec.name}`, script: `systemctl stop -- ${n}` });
          impact = 'restart';
        }
      }
      const after = { enabled: spec.masked ? 'masked' : spec.enabled ? 'enabled' : 'disabled', active: spec.masked || spec.state === 'stopped' ? 'inactive' : 'active' };
      if (steps.length === 0) {
        const skipped = notes.filter((x) => !x.startsWith('unit not installed'));
        return result([noopChange(ctx, 'systemd.service', spec.name, skipped.length ? skipped.join('; ') : 'state matches', before)], [], {
          diagnostics: skipped
            .filter((x) => x.startsWith('start conditions'))
            .map((x) => ({ severity: 'warning' as const, code: 'LAB_L3_UNIT_CONDITION', summary: `${spec.name}: ${x}` })),
        });
      }
      const diff = [
        ...(before.enabled !== after.enabled && !NOT_ENABLEABLE.has(before.enabled) ? [{ path: 'enabled', before: before.enabled || '(none)', after: after.enabled }] : []),
        ...(ACTIVE.has(before.active) !== (after.active === 'active') ? [{ path: 'active', before: before.active, after: after.active }] : []),
      ];
      const predicted: UnitInfo = {
        ...u,
        loadState: spec.masked ? 'masked' : u.loadState === 'not-found' ? 'loaded' : u.loadState,
        unitFileState: spec.masked ? 'masked' : NOT_ENABLEABLE.has(u.unitFileState) ? u.unitFileState : after.enabled,
        activeState: after.active,
      };
      return result(
        [makeChange(ctx, 'systemd.service', spec.name, { action: u.loadState === 'not-found' ? 'create' : 'update', impact, before, after, diff, steps, ...(notes.length ? { reason: notes.join('; ') } : {}) })],
        steps,
        { predicts: [[unit, predicted]] },
      );
    },
  };
}
