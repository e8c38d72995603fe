import type { Sim } from '../engine/sim.js';
import { fail } from '../http/_errors.js';
import type { TaskHandle } from '../engine/tasks.js';
import { checkLock, drivesOf, isCdrom, isCloudinitDrive, loadVm, printDrive } from './vmconf.js';
import { findVolume, parseVolid, storageConfig, volid } from '../storage/volumes.js';
import { renameDataSync } from '../storage/volume-data.js';

/**
 * `POST …/template`: sync checks (lock, snapshots, already a template, running); the
 * `qmtemplate` task renames each data disk to a base volume and sets `template: 1`.
 */
export function templateVm(sim: Sim, principal: string, node: string, vmid: number, disk: string | undefined): string {
  const vm = loadVm(sim, node, vmid);
  checkLock(vm.conf);
  if (Object.keys(vm.snapshots).length > 0) fail('unable to create template, because VM contains snapshots');
  if (vm.conf['template'] === '1' && !disk) fail("you can't convert a template to a template");
  if (vm.runtime.status !== 'stopped' && !disk) fail("you can't convert a VM to template if VM is running");
  return sim.tasks.start({
    node,
    type: 'qmtemplate',
    id: String(vmid),
    user: principal,
    work: (task) => sim.withConfigLock(vmid, async () => convertToTemplate(sim, node, vmid, task, disk)),
  });
}

/** `template_create`: data disks become base volumes, `template: 1` is set. */
export function convertToTemplate(sim: Sim, node: string, vmid: number, task: TaskHandle, disk: string | undefined): void {
  const current = loadVm(sim, node, vmid);
  for (const { key, drive } of drivesOf(current.conf)) {
    if (disk && key !== disk) continue;
    if (isCdrom(drive) || isCloudinitDrive(drive)) continue;
    const { storage, cfg, parsed } = parseVolid(sim, drive.file);
    if (parsed.isBase) continue;
    const vol = findVolume(sim, node, drive.file);
    if (!vol) throw new Error(`volume '${drive.file}' does not exist`);
    const baseName = parsed.name.replace(/^vm-/, 'base-');
    const newVolname = cfg.type === 'lvmthin' ? baseName : `${vmid}/${baseName}`;
    renameDataSync(sim, vol, newVolname);
    Object.assign(vol, { volname: newVolname });
    if (cfg.type === 'lvmthin') {
      task.log(`  Renamed "${parsed.name}" to "${baseName}" in volume group "${storageConfig(sim, storage).vgname ?? 'pve'}"`);
      task.log(`  Logical volume pve/${baseName} changed.`);
    }
    current.conf[key] = printDrive(key, { ...drive, file: volid(vol) });
  }
  current.conf['template'] = '1';
}
