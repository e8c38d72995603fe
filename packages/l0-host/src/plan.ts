import { createPlan, type Change, type Diagnostic, type Plan, type PlanMode } from '@lab/core';
import { assessHost, type AssessOptions, type HostAssessment } from './assess.js';
import type { HostItem } from './item.js';
import type { HostObservation } from './observe.js';
import type { HostIntent } from './requirements.js';

/** Key of L0's entry in a plan's basis. */
export const L0_BASIS_KEY = '_site/l0';

export interface PlanHostOptions extends AssessOptions {
  readonly mode: PlanMode;
  readonly labVersion: string;
  readonly createdAt?: Date;
}

function diagnostic(i: HostItem, severity: Diagnostic['severity']): Diagnostic {
  return {
    severity,
    code: i.code,
    summary: i.summary,
    address: i.address,
    ...(i.detail ? { detail: i.detail } : {}),
    ...(i.hint ? { hint: i.hint } : {}),
  };
}

/**
 * The L0 plan: setup changes (roles, user, token, pools, ACLs, storage content) and the
 * findings apply cannot fix as diagnostics. In `check` mode the host must be ready as it is,
 * so every failure is an error, fixable or not; in `normal` mode a failure that a planned
 * change fixes is shown by that change only.
 */
export function planFromAssessment(assessment: HostAssessment, options: PlanHostOptions): Plan {
  const changes = new Map<string, Change>();
  for (const i of assessment.items) if (i.change && !changes.has(i.change.address)) changes.set(i.change.address, i.change);
  const pending = (addr: string | undefined): boolean => addr !== undefined && (changes.get(addr)?.action ?? 'noop') !== 'noop';
  const check = options.mode === 'check';
  const diagnostics: Diagnostic[] = [];
  for (const i of assessment.items) {
    const fixed = (i.change !== undefined && i.change.action !== 'noop') || pending(i.fixedBy);
    if (i.status === 'fail' && (check || !fixed)) diagnostics.push(diagnostic(i, 'error'));
    else if (i.status === 'warn') diagnostics.push(diagnostic(i, 'warning'));
    else if (i.status === 'skip' && (check || !fixed)) diagnostics.push(diagnostic(i, check ? 'warning' : 'info'));
  }
  return createPlan({
    labVersion: options.labVersion,
    layers: ['l0'],
    mode: options.mode,
    basis: { [L0_BASIS_KEY]: assessment.basis },
    changes: [...changes.values()],
    diagnostics,
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
  });
}

/** Pure: intent + observation → plan. */
export function planHost(intent: HostIntent, obs: HostObservation, options: PlanHostOptions): Plan {
  return planFromAssessment(assessHost(intent, obs, options), options);
}
