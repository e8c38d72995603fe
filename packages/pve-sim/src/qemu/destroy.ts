import type { Sim } from '../engine/sim.js';
import { fail } from '../http/_errors.js';
import { checkLock, checkProtection, loadVm } from './vmconf.js';
import { referencedVolumes } from './disks.js';
import { parseVolid, removeVolume, storageConfig, volid } from '../storage/volumes.js';
import { removeVmFromPools } from '../routes/pools.js';
import { guestCall } from './guest.js';

/**
 * `DELETE /nodes/{node}/qemu/{vmid}`: protection and running checks at dispatch; the
 * `qmdestroy` task checks the lock, refuses templates whose base volumes still back linked
 * clones on dir storage, frees every owned volume, removes the guest, ACLs and pool membership.
 */
export function destroyVm(sim: Sim, principal: string, node: string, vmid: number, opts: { purge: boolean; unreferenced: boolean; skiplock: boolean }): string {
  const vm = loadVm(sim, node, vmid);
  checkProtection(vm.conf, `can't remove VM ${vmid}`);
  if (vm.runtime.status !== 'stopped') fail(`VM ${vmid} is running - destroy failed`);
  return sim.tasks.start({
    node,
    type: 'qmdestroy',
    id: String(vmid),
    user: principal,
    work: async (task) => {
      await sim.withConfigLock(vmid, async () => {
        const current = loadVm(sim, node, vmid);
        if (!opts.skiplock) checkLock(current.conf);
        if (current.runtime.status !== 'stopped') throw new Error(`VM ${vmid} is running - destroy failed`);
        const refs = referencedVolumes([current.conf, current.pending, ...Object.values(current.snapshots)]);
        for (const ref of refs) {
          const { cfg, parsed } = parseVolid(sim, ref);
          if (!parsed.isBase || cfg.type !== 'dir') continue;
          const user = sim.state.volumes.find((v) => v.node === node && v.storage === ref.split(':')[0] && v.volname.startsWith(`${parsed.vmid}/${parsed.name}/`));
          if (user) throw new Error(`base volume '${ref}' is still in use by linked cloned`);
        }
        current.conf['lock'] = 'destroyed';
        const owned = (id: string): boolean => new RegExp(`(^|[:/])(vm|base)-${vmid}-`).test(id.split(':')[1]?.split('/').pop() ?? '') || id.split(':')[1]?.split('/').pop() === `vm-${vmid}-cloudinit`;
        for (const ref of refs) {
          if (!owned(ref)) continue;
          if (await removeVolume(sim, node, ref)) logRemoved(sim, task, ref);
        }
        if (opts.unreferenced) {
          for (const v of [...sim.state.volumes]) {
            if (v.node !== node || v.content !== 'images' || v.vmid !== vmid) continue;
            const id = volid(v);
            if (await removeVolume(sim, node, id)) logRemoved(sim, task, id);
          }
        }
        await guestCall(sim, vmid, 'destroy', undefined, () => sim.guests.destroy(vmid));
        sim.state.access.acl = sim.state.access.acl.filter((e) => e.path !== `/vms/${vmid}`);
        removeVmFromPools(sim, vmid);
        delete sim.state.vms[String(vmid)];
      });
    },
  });
}

function logRemoved(sim: Sim, task: { log(l: string): void }, id: string): void {
  const storage = id.split(':')[0]!;
  if (storageConfig(sim, storage).type === 'lvmthin') task.log(`  Logical volume "${id.split(':')[1]}" successfully removed.`);
}
