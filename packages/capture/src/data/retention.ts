import type { Retention } from './types.js';

/** The persona's snapshots carry this tag; every lab restic command filters on it. */
export function personaTag(persona: string): string {
  return `persona:${persona}`;
}

/** restic flags selecting exactly one persona's snapshots (its tag and its host name). */
export function personaFilter(persona: string): string[] {
  return ['--tag', personaTag(persona), '--host', persona];
}

/**
 * `restic forget` flags for a retention policy, or undefined when it keeps everything (all
 * rules 0: restic would refuse to run without a policy). Snapshots are grouped by host only:
 * the host is the persona, and grouping by paths would start a new, never-expiring group
 * whenever the captured paths change.
 */
export function forgetArgs(persona: string, r: Retention): string[] | undefined {
  const keep: [string, number][] = [
    ['--keep-last', r.keepLast],
    ['--keep-daily', r.daily],
    ['--keep-weekly', r.weekly],
    ['--keep-monthly', r.monthly],
    ['--keep-yearly', r.yearly],
  ];
  const flags = keep.filter(([, n]) => n > 0).flatMap(([f, n]) => [f, String(n)]);
  if (flags.length === 0) return undefined;
  return ['forget', '--json', ...personaFilter(persona), '--group-by', 'host', ...flags];
}

/** One group of `restic forget --json`. */
export interface ForgetGroup {
  readonly keep: readonly { readonly id: string }[] | null;
  readonly remove: readonly { readonly id: string }[] | null;
}

export function countForget(groups: readonly ForgetGroup[]): { forgotten: number; kept: number } {
  return {
    forgotten: groups.reduce((n, g) => n + (g.remove?.length ?? 0), 0),
    kept: groups.reduce((n, g) => n + (g.keep?.length ?? 0), 0),
  };
}
