import pLimit from 'p-limit';
import { toLabError, type LabError, type Plan, type Reporter } from '@lab/core';
import type { Persona } from '@lab/intent';
import { applyL3, checkL3, type ApplyResult, type CheckResult } from './apply/apply.js';
import type { RemoteHost } from './observe.js';
import type { FactSet } from './facts/fact.js';
import type { L3Intent } from './intent.js';
import { planL3 } from './plan.js';
import { resolveOs, type SecretSource } from './resolve.js';

/** A persona as loaded by @lab/intent, or an already resolved L3 intent. */
export type OsInput = { readonly persona: Persona; readonly root: string; readonly secrets?: SecretSource } | { readonly intent: L3Intent };

function intentOf(input: OsInput): Promise<L3Intent> {
  return 'intent' in input ? Promise.resolve(input.intent) : resolveOs(input.persona, { root: input.root, ...(input.secrets ? { secrets: input.secrets } : {}) });
}

/** `lab plan --layer l3`: the plan for facts already gathered (pure once inputs are resolved). */
export async function planOs(input: OsInput & { readonly facts: FactSet }): Promise<Plan> {
  return planL3(await intentOf(input), input.facts);
}

/** `lab check --layer l3`: gather (one round trip) and plan; changes nothing on the guest. */
export async function checkOs(input: OsInput & { readonly connection: RemoteHost; readonly reporter?: Reporter }): Promise<CheckResult> {
  const intent = await intentOf(input);
  return checkL3(intent, { host: input.connection, ...(input.reporter ? { reporter: input.reporter } : {}) });
}

/** `lab apply --layer l3`: converge, then prove convergence; `plan` (saved) is refused when stale. */
export async function applyOs(input: OsInput & { readonly connection: RemoteHost; readonly reporter?: Reporter; readonly plan?: Plan }): Promise<ApplyResult> {
  const intent = await intentOf(input);
  return applyL3(input.plan, intent, { host: input.connection, ...(input.reporter ? { reporter: input.reporter } : {}) });
}

export interface HostJob<T> {
  readonly name: string;
  readonly run: () => Promise<T>;
}

export type HostOutcome<T> = { readonly name: string; readonly ok: true; readonly value: T } | { readonly name: string; readonly ok: false; readonly error: LabError };

/**
 * Run per-host work in parallel, at most `concurrency` at once. One host failing does not stop
 * the others; every outcome comes back, in input order. Reporter lines are grouped by host
 * through each job's own `group`.
 */
export async function forEachHost<T>(jobs: readonly HostJob<T>[], concurrency = 4): Promise<HostOutcome<T>[]> {
  const limit = pLimit(Math.max(1, concurrency));
  return Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<HostOutcome<T>> => {
        try {
          return { name: job.name, ok: true, value: await job.run() };
        } catch (error) {
          return { name: job.name, ok: false, error: toLabError(error) };
        }
      }),
    ),
  );
}
