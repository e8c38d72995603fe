import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { VmRecord } from '../state/model.js';
import { isDriveKey, isCloudinitPendingProperty, isFastPlug } from './config-schema.js';
import { addToPendingDelete, hasCloudinitDrive, isCdrom, isCloudinitDrive, parseDrive, parsePendingDelete, removeFromPendingDelete, parseNet } from './vmconf.js';
import { removeVolume } from '../storage/volumes.js';
import { parseVolumeId } from '../storage/volname.js';

/** `vmconfig_register_unused_drive`: a detached data disk becomes `unusedN`; cloud-init is freed. */
export async function registerUnusedDrive(sim: Sim, vm: VmRecord, value: string, key: string): Promise<void> {
  const drive = parseDrive(key, value);
  if (!drive) return;
  if (isCloudinitDrive(drive)) {
    await removeVolume(sim, vm.node, drive.file);
    vm.cloudinit = {};
    return;
  }
  if (isCdrom(drive) || !parseVolumeId(drive.file)) return;
  const used = Object.entries(vm.conf).some(([k, v]) => /^unused\d+$/.test(k) && v === drive.file);
  if (used) return;
  for (let i = 0; i < 256; i++) {
    if (vm.conf[`unused${i}`] === undefined) {
      vm.conf[`unused${i}`] = drive.file;
      return;
    }
  }
}

/** `try_deallocate_drive` for owned, non-cdrom volumes. */
async function deallocate(sim: Sim, vm: VmRecord, key: string, value: string): Promise<void> {
  const drive = parseDrive(key, value);
  if (!drive || isCdrom(drive)) return;
  const owner = /(?:^|[:/])(?:vm|base)-(\d+)-/.exec(drive.file)?.[1];
  if (owner !== undefined && Number(owner) === vm.vmid) await removeVolume(sim, vm.node, drive.file);
}

/** Record cloud-init relevant changes of a running VM in `[special:cloudinit]` (`$cloudinit_record_changed`). */
export function recordCloudinitChange(vm: VmRecord, key: string, oldValue: string | undefined, newValue: string | undefined): void {
  if (!isCloudinitPendingProperty(key)) return;
  const ci = vm.cloudinit;
  const recorded = ci[key];
  const added = new Set((ci['added'] ?? '').split(',').filter(Boolean));
  delete ci['added'];
  if (newValue !== undefined) {
    if (oldValue !== undefined) {
      if (recorded !== undefined) {
        if (newValue === recorded) {
          delete ci[key];
          added.delete(key);
        }
      } else if (!added.has(key)) {
        ci[key] = oldValue;
      }
    } else if (recorded !== undefined) {
      if (newValue === recorded) {
        delete ci[key];
        added.delete(key);
      }
    } else {
      added.add(key);
    }
  } else if (oldValue !== undefined) {
    if (recorded === undefined) {
      if (added.has(key)) added.delete(key);
      else ci[key] = oldValue;
    }
  }
  if (added.size > 0) ci['added'] = [...added].sort().join(',');
}

/**
 * `vmconfig_apply_pending`: for a stopped VM everything in `[PENDING]` becomes current —
 * deleted drives detach to `unusedN` (or are freed with force), replaced drives too.
 * Returns whether a cloud-init drive was added (the caller regenerates the image).
 */
export async function applyPending(sim: Sim, vm: VmRecord, task?: TaskHandle): Promise<boolean> {
  const deletes = parsePendingDelete(vm.pending['delete']);
  for (const [key, force] of [...deletes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const current = vm.conf[key];
    if (current !== undefined && isDriveKey(key)) {
      if (force) await deallocate(sim, vm, key, current);
      else await registerUnusedDrive(sim, vm, current, key);
    }
    removeFromPendingDelete(vm, key);
    delete vm.conf[key];
  }
  let ciAdded = false;
  for (const key of Object.keys(vm.pending)) {
    if (key === 'delete') continue;
    const value = vm.pending[key]!;
    if (vm.conf[key] !== undefined && isDriveKey(key) && vm.conf[key] !== value) {
      const oldFile = parseDrive(key, vm.conf[key]!)?.file;
      const newFile = parseDrive(key, value)?.file;
      if (oldFile !== newFile) await registerUnusedDrive(sim, vm, vm.conf[key]!, key);
    }
    if (isDriveKey(key)) {
      const d = parseDrive(key, value);
      if (d && isCloudinitDrive(d)) ciAdded = true;
    }
    vm.conf[key] = value;
    delete vm.pending[key];
  }
  delete vm.pending['delete'];
  // A re-added volume no longer counts as unused.
  const used = new Set(Object.entries(vm.conf).filter(([k]) => isDriveKey(k)).map(([k, v]) => parseDrive(k, v)?.file));
  for (const k of Object.keys(vm.conf)) if (/^unused\d+$/.test(k) && used.has(vm.conf[k])) delete vm.conf[k];
  if (ciAdded && task) task.log('generating cloud-init ISO');
  if (ciAdded) vm.cloudinit = {};
  return ciAdded;
}

/** Hot-plug features of the VM (`hotplug` default `network,disk,usb`). */
export function hotplugFeatures(vm: VmRecord): Set<string> {
  const raw = vm.conf['hotplug'] ?? 'network,disk,usb';
  if (raw === '1') return new Set(['network', 'disk', 'usb']);
  if (raw === '0') return new Set();
  return new Set(raw.split(','));
}

/**
 * `vmconfig_hotplug_pending` for a running VM: fast-plug keys (incl. all cloud-init keys)
 * apply at once, hot-pluggable ones too when the `hotplug` features allow; the rest stays
 * pending until the next start. Cloud-init relevant changes are recorded.
 */
export async function hotplugPending(sim: Sim, vm: VmRecord): Promise<void> {
  for (const key of Object.keys(vm.pending)) {
    if (key === 'delete' || !isFastPlug(key)) continue;
    const value = vm.pending[key]!;
    recordCloudinitChange(vm, key, vm.conf[key], value);
    vm.conf[key] = value;
    delete vm.pending[key];
  }
  const features = hotplugFeatures(vm);
  for (const [key, force] of parsePendingDelete(vm.pending['delete'])) {
    let ok = false;
    if (isFastPlug(key)) ok = true;
    else if (/^net\d+$/.test(key)) ok = features.has('network');
    else if (isDriveKey(key)) ok = features.has('disk') && !/^(efidisk|ide|sata|tpmstate)\d+$/.test(key);
    else if (['cpuunits', 'cpulimit'].includes(key)) ok = true;
    if (!ok) continue;
    const old = vm.conf[key];
    if (old !== undefined && isDriveKey(key)) {
      if (force) await deallocate(sim, vm, key, old);
      else await registerUnusedDrive(sim, vm, old, key);
    }
    delete vm.conf[key];
    recordCloudinitChange(vm, key, old, undefined);
    removeFromPendingDelete(vm, key);
  }
  for (const key of Object.keys(vm.pending)) {
    if (key === 'delete') continue;
    const value = vm.pending[key]!;
    let ok = false;
    if (['cpuunits', 'cpulimit', 'agent'].includes(key)) ok = true;
    else if (key === 'balloon') ok = (vm.conf['balloon'] !== '0') === (value !== '0');
    else if (key === 'vcpus') ok = features.has('cpu');
    else if (key === 'memory') ok = features.has('memory');
    else if (/^net\d+$/.test(key)) {
      const oldNet = vm.conf[key] ? parseNet(vm.conf[key]!) : undefined;
      const newNet = parseNet(value);
      const sameModel = oldNet && newNet && oldNet['model'] === newNet['model'] && oldNet['macaddr'] === newNet['macaddr'];
      ok = features.has('network') || !!sameModel;
    } else if (isDriveKey(key) && key !== 'efidisk0' && key !== 'tpmstate0') {
      const d = parseDrive(key, value);
      if (d && isCloudinitDrive(d)) ok = true;
      else if (d && isCdrom(d)) ok = true;
      else ok = features.has('disk') || vm.conf[key] !== undefined;
    }
    if (!ok) continue;
    if (vm.conf[key] !== undefined && isDriveKey(key) && parseDrive(key, vm.conf[key]!)?.file !== parseDrive(key, value)?.file) {
      await registerUnusedDrive(sim, vm, vm.conf[key]!, key);
    }
    recordCloudinitChange(vm, key, vm.conf[key], value);
    vm.conf[key] = value;
    delete vm.pending[key];
  }
  if (!hasCloudinitDrive(vm.conf)) vm.cloudinit = {};
}

export { addToPendingDelete };
