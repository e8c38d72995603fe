/** Real guests for L3's integration tests and the l3-noop benchmark (from @lab/testkit). */
import { startSimGuests as start, type SimGuests } from '@lab/testkit';

export { simAvailable, tempLabRoot } from '@lab/testkit';
export type { SimGuest, SimGuests, Availability } from '@lab/testkit';

export function startSimGuests(count: number, prefix = 'l3'): Promise<SimGuests> {
  return start(count, prefix);
}
