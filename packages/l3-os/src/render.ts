import { renderPlan, type Plan, type RenderPlanOptions } from '@lab/core';

/** Unified diffs of every file an L3 plan would change, in plan order. */
export function planDiffs(plan: Plan): { readonly address: string; readonly diff: string }[] {
  return plan.changes.filter((c) => c.action !== 'noop' && c.unifiedDiff).map((c) => ({ address: c.address, diff: c.unifiedDiff! }));
}

/** The plan as the CLI prints it: core's renderer shows each change's unified diff under it. */
export function renderL3Plan(plan: Plan, options: RenderPlanOptions = {}): string {
  return renderPlan(plan, options);
}
