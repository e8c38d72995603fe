/**
 * @lab/testkit — fixtures the layers' integration tests share (never shipped): real Debian
 * guests booted by the simulator's Docker backend and reached through its jump host.
 */
export { startSimGuests, simAvailable, tempLabRoot } from './sim-guests.js';
export type { SimGuest, SimGuests, Availability } from './sim-guests.js';
