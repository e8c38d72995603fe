/**
 * What applying a change costs the running machine, from cheapest to most severe.
 * `data-loss` is the only impact that deletes something that cannot be rebuilt from Git.
 */
export const IMPACTS = ['none', 'hotplug', 'reload', 'restart', 'reboot', 'recreate', 'data-loss'] as const;
export type Impact = (typeof IMPACTS)[number];

export function impactRank(impact: Impact): number {
  return IMPACTS.indexOf(impact);
}

/** The most severe of several impacts (`none` for an empty list). */
export function worstImpact(impacts: Iterable<Impact>): Impact {
  let worst: Impact = 'none';
  for (const i of impacts) if (impactRank(i) > impactRank(worst)) worst = i;
  return worst;
}

export function isImpact(value: unknown): value is Impact {
  return typeof value === 'string' && (IMPACTS as readonly string[]).includes(value);
}
