import { availableParallelism } from 'node:os';
import type { Site } from '@lab/intent';

/**
 * Guests checked or converged at once (L3, L4, `lab check --all`; adr/0187): lab.yaml
 * `parallelism.guests`, else the CPU cores available to lab. Each is one SSH channel through the
 * jump host, and the guest side of a check costs more than lab's: the cores bound it, not a
 * fixed number.
 */
export function guestParallelism(site: Site): number {
  return site.parallelism.guests ?? Math.max(1, availableParallelism());
}
