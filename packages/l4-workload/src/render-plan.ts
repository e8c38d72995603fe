import { createTwoFilesPatch } from 'diff';
import type { Plan } from '@lab/core';

/** Unified diffs of the compose documents a plan changes (env values are shown per key, secrets masked). */
export function workloadDiffs(plan: Plan): string {
  const out: string[] = [];
  for (const c of plan.changes) {
    const d = c.diff.find((x) => x.path === 'compose');
    if (!d) continue;
    out.push(createTwoFilesPatch(`${c.address} (host)`, `${c.address} (intent)`, String(d.before ?? ''), String(d.after ?? ''), undefined, undefined, { context: 3 }));
  }
  return out.join('\n');
}
