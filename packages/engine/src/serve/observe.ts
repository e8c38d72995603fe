import { toLabError } from '@lab/core';
import type { EngineEnv } from '../env.js';
import { prepare } from '../layers/run.js';
import { guestReach } from '../up/guests.js';
import type { Observation } from './status.js';

/** The layers the page re-observes: those `lab drift` compares (L0 and L1 are site-wide). */
export const OBSERVED_LAYERS = ['l2', 'l3', 'l4'] as const;

/**
 * Re-observe one persona: each layer plans in check mode (observe → plan, never apply), as
 * `lab check` does, and nothing is journalled: the page never writes to the lab. A layer that
 * cannot be observed (no Proxmox, guest unreachable) is an observation with its error code; guest
 * layers of a lab without guests (records-only simulator) are skipped with the reason, as `lab drift` does.
 */
export async function observePersona(env: EngineEnv, persona: string, now: () => Date = () => new Date()): Promise<Observation[]> {
  let prepared;
  try {
    prepared = await prepare(env, { persona, layer: OBSERVED_LAYERS.join(',') });
  } catch (error) {
    const e = toLabError(error);
    return OBSERVED_LAYERS.map((layer) => ({ layer, at: now(), error: { code: e.code, summary: e.summary } }));
  }
  const out: Observation[] = [];
  const reach = await guestReach(prepared.lab);
  try {
    for (const adapter of prepared.adapters) {
      if (adapter.layer !== 'l2' && !reach.ok) {
        out.push({ layer: adapter.layer, at: now(), skipped: `not checked: ${reach.reason ?? 'no guest to reach'}${reach.hint ? ` (${reach.hint})` : ''}` });
        continue;
      }
      try {
        const plan = await adapter.plan(prepared.session, 'check');
        const failed = plan.diagnostics.find((d) => d.severity === 'error');
        out.push({ layer: adapter.layer, at: now(), plan, ...(failed ? { error: { code: failed.code, summary: failed.summary } } : {}) });
      } catch (error) {
        const e = toLabError(error);
        out.push({ layer: adapter.layer, at: now(), error: { code: e.code, summary: e.summary } });
      }
    }
  } finally {
    await prepared.session.close();
  }
  return out;
}
