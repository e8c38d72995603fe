/** Real guests for L4's integration tests (from @lab/testkit). */
import { startSimGuests as start, type SimGuests } from '@lab/testkit';

export { simAvailable, tempLabRoot } from '@lab/testkit';
export type { SimGuest, SimGuests, Availability } from '@lab/testkit';

export function startSimGuests(count: number, prefix = 'l4'): Promise<SimGuests> {
  return start(count, prefix);
}
