import type { Sim } from '../engine/sim.js';
import { dataVolumes } from './guest.js';
import { deleteSnapshotData, rollbackData, snapshotData } from '../storage/volume-data.js';
import type { ConfigSection } from '../state/model.js';
import { fail } from '../http/_errors.js';
import { checkLock, digestOf, drivesOf, isCdrom, loadVm } from './vmconf.js';
import { parseVolid, volumeHasFeature } from '../storage/volumes.js';
import { guestCall } from './guest.js';
import { doStart, markStopped } from './power.js';

const SKIP = new Set(['snapshots', 'snapstate', 'snaptime', 'vmstate', 'lock', 'digest', 'description']);

function copyForSnapshot(conf: ConfigSection): ConfigSection {
  const out: ConfigSection = {};
  for (const [k, v] of Object.entries(conf)) if (!SKIP.has(k) && !/^unused\d+$/.test(k)) out[k] = v;
  return out;
}

/** `GET …/snapshot`: every snapshot plus the `current` pseudo-entry last. */
export function listSnapshots(sim: Sim, node: string, vmid: number): Record<string, unknown>[] {
  const vm = loadVm(sim, node, vmid);
  const rows: Record<string, unknown>[] = Object.entries(vm.snapshots).map(([name, s]) => ({
    name,
    snaptime: Number(s['snaptime'] ?? 0),
    vmstate: s['vmstate'] ? 1 : 0,
    description: s['description'] ?? '',
    ...(s['parent'] ? { parent: s['parent'] } : {}),
    ...(s['snapstate'] ? { snapstate: s['snapstate'] } : {}),
  }));
  rows.push({
    name: 'current',
    description: 'You are here!',
    digest: digestOf(vm),
    running: vm.runtime.status === 'stopped' ? 0 : 1,
    ...(vm.conf['parent'] ? { parent: vm.conf['parent'] } : {}),
  });
  return rows;
}

function assertSnapshotFeature(sim: Sim, conf: ConfigSection): void {
  for (const { drive } of drivesOf(conf)) {
    if (isCdrom(drive) || drive.file === 'none') continue;
    const { cfg, parsed } = parseVolid(sim, drive.file);
    if (!volumeHasFeature(cfg, parsed, 'snapshot', false)) throw new Error('snapshot feature is not available');
  }
}

export function createSnapshot(sim: Sim, principal: string, node: string, vmid: number, snapname: string, vmstate: boolean, description: string | undefined): string {
  if (snapname === 'current') fail("unable to use snapshot name 'current' (reserved name)");
  if (snapname.toLowerCase() === 'pending') fail("unable to use snapshot name 'pending' (reserved name)");
  return sim.tasks.start({
    node,
    type: 'qmsnapshot',
    id: String(vmid),
    user: principal,
    selfTimed: true,
    work: async (task) => {
      await sim.withConfigLock(vmid, async () => {
        const vm = loadVm(sim, node, vmid);
        if (vm.conf['template'] === '1') throw new Error("you can't take a snapshot if it's a template");
        checkLock(vm.conf);
        if (vm.snapshots[snapname]) throw new Error(`snapshot name '${snapname}' already used`);
        assertSnapshotFeature(sim, vm.conf);
        const snap = copyForSnapshot(vm.conf);
        snap['snapstate'] = 'prepare';
        snap['snaptime'] = String(sim.nowS());
        if (description) snap['description'] = description;
        vm.snapshots[snapname] = snap;
        vm.conf['lock'] = 'snapshot';
        await sim.save();
        try {
          await task.simulate();
          if (vmstate && vm.runtime.status !== 'stopped') {
            task.log('saving VM state and RAM using storage \'local-lvm\'');
            snap['vmstate'] = `local-lvm:vm-${vmid}-state-${snapname}`;
          }
          await guestCall(sim, vmid, 'snapshot', undefined, () => sim.guests.snapshot(vmid, snapname));
          await sim.guests.flush?.(vmid);
          for (const { vol } of dataVolumes(sim, vm)) await snapshotData(sim, vol, snapname);
          for (const { key, drive } of drivesOf(vm.conf)) {
            if (isCdrom(drive)) continue;
            task.log(`snapshotting '${key}' (${drive.file})`);
            const { cfg, parsed } = parseVolid(sim, drive.file);
            if (cfg.type === 'lvmthin') task.log(`  Logical volume "snap_${parsed.name}_${snapname}" created.`);
          }
        } catch (err) {
          delete vm.snapshots[snapname];
          delete vm.conf['lock'];
          throw err;
        }
        delete snap['snapstate'];
        vm.conf['parent'] = snapname;
        delete vm.conf['lock'];
      });
    },
  });
}

export function rollbackSnapshot(sim: Sim, principal: string, node: string, vmid: number, snapname: string, start: boolean): string {
  return sim.tasks.start({
    node,
    type: 'qmrollback',
    id: String(vmid),
    user: principal,
    work: async (task) => {
      let startAfter = false;
      await sim.withConfigLock(vmid, async () => {
        const vm = loadVm(sim, node, vmid);
        const snap = vm.snapshots[snapname];
        if (!snap) throw new Error(`snapshot '${snapname}' does not exist`);
        if (vm.conf['template'] === '1') throw new Error("you can't rollback if vm is a template");
        if (snap['snapstate']) throw new Error(`unable to rollback to incomplete snapshot (snapstate = ${snap['snapstate']})`);
        checkLock(vm.conf);
        if (vm.runtime.status !== 'stopped') {
          await guestCall(sim, vmid, 'stop', undefined, () => sim.guests.stop(vmid));
          markStopped(sim, vm);
        }
        vm.conf['lock'] = 'rollback';
        await sim.save();
        await guestCall(sim, vmid, 'rollback', undefined, () => sim.guests.rollback(vmid, snapname));
        for (const { vol } of dataVolumes(sim, vm, snap)) await rollbackData(sim, vol, snapname);
        for (const { drive } of drivesOf(snap)) {
          if (isCdrom(drive)) continue;
          const { cfg, parsed } = parseVolid(sim, drive.file);
          if (cfg.type === 'lvmthin') task.log(`  Logical volume "${parsed.name}" successfully removed.`, );
          if (cfg.type === 'lvmthin') task.log(`  Logical volume "${parsed.name}" created.`);
        }
        const restored: ConfigSection = {};
        for (const [k, v] of Object.entries(snap)) if (!['snaptime', 'vmstate', 'description', 'snapstate'].includes(k)) restored[k] = v;
        for (const [k, v] of Object.entries(vm.conf)) if (/^unused\d+$/.test(k)) restored[k] = v;
        if (vm.conf['description'] !== undefined) restored['description'] = vm.conf['description'];
        restored['parent'] = snapname;
        vm.conf = restored;
        vm.pending = {};
        startAfter = start || !!snap['vmstate'];
      });
      if (startAfter) await doStart(sim, node, vmid, task);
    },
  });
}

export function deleteSnapshot(sim: Sim, principal: string, node: string, vmid: number, snapname: string, force: boolean): string {
  return sim.tasks.start({
    node,
    type: 'qmdelsnapshot',
    id: String(vmid),
    user: principal,
    work: async (task) => {
      await sim.withConfigLock(vmid, async () => {
        const vm = loadVm(sim, node, vmid);
        const snap = vm.snapshots[snapname];
        if (!snap) throw new Error(`snapshot '${snapname}' does not exist`);
        if (!force) checkLock(vm.conf);
        vm.conf['lock'] = 'snapshot-delete';
        snap['snapstate'] = 'delete';
        await sim.save();
        try {
          await guestCall(sim, vmid, 'delete snapshot', undefined, () => sim.guests.deleteSnapshot(vmid, snapname));
          for (const { vol } of dataVolumes(sim, vm, snap)) await deleteSnapshotData(sim, vol, snapname);
        } catch (err) {
          if (!force) {
            delete vm.conf['lock'];
            throw err;
          }
        }
        for (const { drive } of drivesOf(snap)) {
          if (isCdrom(drive)) continue;
          const { cfg, parsed } = parseVolid(sim, drive.file);
          if (cfg.type === 'lvmthin') task.log(`  Logical volume "snap_${parsed.name}_${snapname}" successfully removed.`);
        }
        const parent = snap['parent'];
        for (const other of Object.values(vm.snapshots)) {
          if (other['parent'] !== snapname) continue;
          if (parent) other['parent'] = parent;
          else delete other['parent'];
        }
        if (vm.conf['parent'] === snapname) {
          if (parent) vm.conf['parent'] = parent;
          else delete vm.conf['parent'];
        }
        delete vm.snapshots[snapname];
        delete vm.conf['lock'];
      });
    },
  });
}
