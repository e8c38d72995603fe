import { createHash } from 'node:crypto';

/**
 * The Docker instance name of a simulator's guests, derived from its state dir: stable, so a
 * restarted simulator (another `lab` command, `lab sim start`) adopts the guests it left running.
 */
export function guestInstanceName(stateDir: string): string {
  return `sim-${createHash('sha256').update(stateDir).digest('hex').slice(0, 10)}`;
}
