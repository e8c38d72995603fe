import { createPlan, type Diagnostic, type Plan, type PlanMode } from '@lab/core';
import { expandOperations } from './expand.js';
import { uniqueFacts, type Fact, type FactSet } from './facts/fact.js';
import type { L3Intent } from './intent.js';
import { pendingFact, withPending } from './ops/handlers.js';
import type { L3Change, Operation } from './ops/operation.js';

export const L3_LAB_VERSION = '0.1.0';

export interface PlanL3Options {
  readonly labVersion?: string;
  readonly mode?: PlanMode;
  readonly createdAt?: Date;
}

/** Every fact a persona's operations read: what one observation must gather. */
export function requiredFacts(intent: L3Intent): Fact<unknown>[] {
  return uniqueFacts(expandOperations(intent).flatMap((op) => op.facts));
}

/** The plan basis key for an L3 observation of one persona. */
export function factsBasisKey(persona: string): string {
  return `${persona}/l3/facts`;
}

/** `planned`: each operation with its changes; `projected`: the facts as the plan expects to leave them. */
export interface PlannedOperation {
  readonly op: Operation;
  readonly changes: readonly L3Change[];
}

/**
 * Plan every operation in order against the facts, each one against the facts as the earlier
 * ones will leave them (their predicted effects), so a line added to a file created two
 * operations earlier shows the right diff, and handlers notified by earlier changes appear.
 */
export function planOperations(intent: L3Intent, facts: FactSet): { planned: PlannedOperation[]; diagnostics: Diagnostic[]; projected: FactSet } {
  let projected = facts;
  const planned: PlannedOperation[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, Operation>();
  for (const op of expandOperations(intent)) {
    const r = op.plan(projected);
    planned.push({ op, changes: r.changes });
    diagnostics.push(...(r.diagnostics ?? []));
    for (const c of r.changes) {
      const other = seen.get(c.address);
      if (other !== undefined && other !== op) {
        diagnostics.push({ severity: 'error', code: 'LAB_L3_DUPLICATE', summary: `${c.address} is managed twice (by ${other.id} and ${op.id})`, address: c.address, hint: 'declare each file, line or block once in the persona and its mixins' });
      }
      seen.set(c.address, op);
    }
    if (r.predicts) projected = projected.with(r.predicts);
    if (r.steps.length > 0 && r.notify?.length) projected = projected.with([[pendingFact, withPending(projected.get(pendingFact), r.notify)]]);
  }
  if (intent.docker?.composeCommand === 'docker compose' && !intent.packages.some((p) => p.name === 'docker-compose-plugin')) {
    diagnostics.push({
      severity: 'warning',
      code: 'LAB_L3_COMPOSE_PLUGIN',
      summary: 'workloads.composeCommand is `docker compose`, but no docker-compose-plugin is installed (Debian ships only docker-compose)',
      hint: 'set workloads.composeCommand: docker-compose, or install docker-compose-plugin from Docker\'s apt repository',
    });
  }
  if (intent.swap && intent.swap.sizeBytes > 0) {
    diagnostics.push({ severity: 'warning', code: 'LAB_L3_SWAP_UNMANAGED', summary: 'os.swap: only swappiness is applied; the swap file itself is not managed by this version of lab', hint: 'create the swap file by hand or drop os.swap.size' });
  }
  return { planned, diagnostics, projected };
}

/** `planL3(intent, facts)`: pure. The plan keeps noops (with reasons) and the facts digest as basis. */
export function planL3(intent: L3Intent, facts: FactSet, options: PlanL3Options = {}): Plan {
  const { planned, diagnostics } = planOperations(intent, facts);
  return createPlan({
    labVersion: options.labVersion ?? L3_LAB_VERSION,
    personas: [intent.persona],
    layers: ['l3'],
    mode: options.mode ?? 'normal',
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    basis: { [factsBasisKey(intent.persona)]: facts.digest() },
    changes: planned.flatMap((p) => p.changes),
    diagnostics,
  });
}
