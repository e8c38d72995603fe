import type { Sim } from '../engine/sim.js';
import { doStart } from './power.js';

/**
 * What pve-guests does when a node boots (`startall`): start every VM on it with `onboot: 1`,
 * each in its own `qmstart` task run as root@pam; a failing start ends only its own task.
 * Returns the UPIDs of the tasks started.
 */
export function bootOnNode(sim: Sim, node: string): string[] {
  const upids: string[] = [];
  const vms = Object.values(sim.state.vms)
    .filter((vm) => vm.node === node && vm.conf['onboot'] === '1' && vm.conf['template'] !== '1' && vm.runtime.status === 'stopped')
    .sort((a, b) => a.vmid - b.vmid);
  for (const vm of vms) {
    upids.push(sim.tasks.start({ node, type: 'qmstart', id: String(vm.vmid), user: 'root@pam', work: (t) => doStart(sim, node, vm.vmid, t) }));
  }
  return upids;
}
