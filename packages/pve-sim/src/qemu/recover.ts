import type { Sim } from '../engine/sim.js';
import type { NoneBackend } from '../guests/none-backend.js';
import { guestSpec } from './guest.js';

/**
 * After a simulator restart, VMs recorded as running whose guest is gone are marked stopped,
 * like a host that rebooted; a guest the backend still runs keeps its state. The `none`
 * backend has no guests to outlive the process — it only keeps records — so its running VMs
 * are booted again as records: a lab on `guests: none` sees the same VM states from one CLI
 * process to the next, as it would on a cluster that kept running.
 */
export async function recoverAfterRestart(sim: Sim): Promise<void> {
  for (const vm of Object.values(sim.state.vms)) {
    if (vm.runtime.status === 'stopped') continue;
    if (sim.guests.kind === 'none' && 'inspect' in sim.guests && (sim.guests as NoneBackend).inspect(vm.vmid) === undefined) {
      try {
        await sim.guests.start(await guestSpec(sim, vm));
        continue;
      } catch {
        // fall through: mark it stopped like any guest that did not come back
      }
    }
    let state: 'running' | 'stopped' = 'stopped';
    try {
      state = await sim.guests.state(vm.vmid);
    } catch {
      state = 'stopped';
    }
    if (state === 'stopped') vm.runtime = { status: 'stopped', changedAt: sim.now() };
  }
}
