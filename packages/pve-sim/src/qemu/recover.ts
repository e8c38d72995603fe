import type { Sim } from '../engine/sim.js';

/**
 * After a simulator restart, VMs recorded as running whose guest is gone are marked stopped,
 * like a host that rebooted; a guest the backend still runs keeps its state.
 */
export async function recoverAfterRestart(sim: Sim): Promise<void> {
  for (const vm of Object.values(sim.state.vms)) {
    if (vm.runtime.status === 'stopped') continue;
    let state: 'running' | 'stopped' = 'stopped';
    try {
      state = await sim.guests.state(vm.vmid);
    } catch {
      state = 'stopped';
    }
    if (state === 'stopped') vm.runtime = { status: 'stopped', changedAt: sim.now() };
  }
}
