import { renderPlan, type Plan, type RenderPlanOptions } from '@lab/core';
import type { L3Change } from './ops/operation.js';

/** Unified diffs of every file an L3 plan would change, in plan order. */
export function planDiffs(plan: Plan): { readonly address: string; readonly diff: string }[] {
  return (plan.changes as readonly L3Change[]).filter((c) => c.action !== 'noop' && c.unifiedDiff).map((c) => ({ address: c.address, diff: c.unifiedDiff! }));
}

/** The plan as `renderPlan` prints it, followed by the unified diff of each changed text file. */
export function renderL3Plan(plan: Plan, options: RenderPlanOptions = {}): string {
  const diffs = planDiffs(plan);
  const body = renderPlan(plan, options);
  if (diffs.length === 0) return body;
  return `${body}\n\n${diffs.map((d) => `# ${d.address}\n${d.diff.trimEnd()}`).join('\n\n')}\n`;
}
