import type { Sim } from '../engine/sim.js';
import { fail, paramError } from '../http/_errors.js';
import { ROOT } from '../access/acl.js';
import { checkLock, digestOf, isCdrom, loadVm, parseDrive, printDrive } from './vmconf.js';
import { findVolume } from '../storage/volumes.js';
import { formatSize, parseSize } from '../util/_size.js';

/** `PUT …/resize`: digest/lock checked, then a `resize` task grows the disk (never shrinks). */
export function resizeVm(
  sim: Sim,
  principal: string,
  node: string,
  vmid: number,
  disk: string,
  size: string,
  digest: string | undefined,
  skiplock: boolean,
): string {
  if (skiplock && principal !== ROOT) paramError({ skiplock: 'Only root may use this option.' });
  return sim.tasks.start({
    node,
    type: 'resize',
    id: String(vmid),
    user: principal,
    work: async (task) => {
      await sim.withConfigLock(vmid, async () => {
        const vm = loadVm(sim, node, vmid);
        if (digest && digest !== digestOf(vm)) throw new Error('checksum mismatch (file change by other user?)');
        if (!skiplock) checkLock(vm.conf);
        const value = vm.conf[disk];
        if (value === undefined) throw new Error(`disk '${disk}' does not exist`);
        const drive = parseDrive(disk, value);
        if (!drive) throw new Error(`unable to parse drive options for '${disk}'`);
        if (isCdrom(drive)) throw new Error("you can't resize a cdrom");
        sim.access.check(principal, `/storage/${drive.file.split(':')[0]}`, ['Datastore.AllocateSpace']);
        const vol = findVolume(sim, node, drive.file);
        const current = vol ? (vol.virtualSize ?? vol.size) : (parseSize(drive['size'] ?? '0') ?? 0);
        const m = /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(size)!;
        const amount = parseSize(`${m[2]}${m[3] ?? ''}`) ?? 0;
        const newSize = m[1] ? current + amount : amount;
        if (newSize < current) throw new Error('shrinking disks is not supported');
        if (newSize === current) return;
        if (vol) {
          vol.size = newSize;
          if (vol.virtualSize !== undefined) vol.virtualSize = newSize;
        }
        task.log(`  Size of logical volume pve/${drive.file.split(':')[1]} changed from ${formatSize(current)} to ${formatSize(newSize)}.`);
        vm.conf[disk] = printDrive(disk, { ...drive, size: formatSize(newSize) });
      });
    },
  });
}

export function assertResizeSize(size: string): void {
  if (!/^\+?\d+(\.\d+)?[KMGT]?$/.test(size)) fail(`invalid size '${size}'`);
}
