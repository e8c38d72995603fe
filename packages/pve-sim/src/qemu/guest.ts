import type { Sim } from '../engine/sim.js';
import type { VmRecord } from '../state/model.js';
import type { GuestDisk, GuestNic, GuestSpec } from '../guests/backend.js';
import { agentEnabled, drivesOf, hasCloudinitDrive, isCdrom, isCloudinitDrive, parseIpconfig, parseNet } from './vmconf.js';
import { buildSeed } from './cloudinit.js';
import { bootDisk, bootDiskBytes } from './status.js';
import { findVolume } from '../storage/volumes.js';
import { parseVolumeId } from '../storage/volname.js';
import { ensureDataFile } from '../storage/volume-data.js';
import type { VolumeRecord } from '../state/model.js';

/** NICs as the guest backend sees them: MAC, bridge, VLAN and the declared ipconfig address. */
export function guestNics(vm: VmRecord): GuestNic[] {
  const nics: GuestNic[] = [];
  const keys = Object.keys(vm.conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  for (const key of keys) {
    const net = parseNet(vm.conf[key]!);
    if (!net) continue;
    const ipc = vm.conf[`ipconfig${key.slice(3)}`];
    const ip = ipc ? parseIpconfig(ipc) : undefined;
    nics.push({
      device: key,
      mac: (net['macaddr'] ?? '').toUpperCase(),
      bridge: net['bridge'] ?? '',
      ...(net['tag'] ? { vlan: Number(net['tag']) } : {}),
      ...(ip?.['ip'] ? { address: ip['ip'] } : {}),
      ...(ip?.['gw'] ? { gateway: ip['gw'] } : {}),
    });
  }
  return nics;
}

/**
 * The VM's data volumes: every hard disk but the boot disk (no CD-ROM, cloud-init, EFI or TPM
 * drive), each with its key and volume record.
 */
export function dataVolumes(sim: Sim, vm: VmRecord, section = vm.conf): Array<{ key: string; vol: VolumeRecord }> {
  const boot = bootDisk(vm)?.key;
  const out: Array<{ key: string; vol: VolumeRecord }> = [];
  for (const { key, drive } of drivesOf(section)) {
    if (key === boot || isCdrom(drive) || isCloudinitDrive(drive) || /^(efidisk|tpmstate)/.test(key)) continue;
    if (!parseVolumeId(drive.file)) continue;
    const vol = findVolume(sim, vm.node, drive.file);
    if (vol && vol.content === 'images') out.push({ key, vol });
  }
  return out;
}

/** Data disks with their bytes made real (sparse files) for the guest to attach. */
async function guestDisks(sim: Sim, vm: VmRecord): Promise<GuestDisk[]> {
  const disks: GuestDisk[] = [];
  for (const { key, vol } of dataVolumes(sim, vm)) {
    disks.push({ device: key, file: await ensureDataFile(sim, vol), bytes: vol.size });
  }
  return disks;
}

/** The Debian release a cloud image's file name names (`debian-13-genericcloud-…` → trixie). */
export function debianRelease(image: string | undefined): string | undefined {
  if (!image) return undefined;
  if (/debian-13|trixie/i.test(image)) return 'trixie';
  if (/debian-12|bookworm/i.test(image)) return 'bookworm';
  return undefined;
}

/** The Debian release of the image the VM's boot disk was imported from, if known. */
export function guestRelease(sim: Sim, vm: VmRecord): string | undefined {
  const boot = bootDisk(vm);
  const vol = boot && parseVolumeId(boot.drive.file) ? findVolume(sim, vm.node, boot.drive.file) : undefined;
  return debianRelease(vol?.origin);
}

function releaseOf(sim: Sim, vm: VmRecord): { release?: string } {
  const release = guestRelease(sim, vm);
  return release ? { release } : {};
}

/** Everything the backend needs to boot this VM's guest, cloud-init seed rendered when a drive exists. */
export async function guestSpec(sim: Sim, vm: VmRecord): Promise<GuestSpec> {
  const spec: GuestSpec = {
    node: vm.node,
    vmid: vm.vmid,
    name: vm.conf['name'] ?? `VM${vm.vmid}`,
    nics: guestNics(vm),
    bootDiskBytes: bootDiskBytes(vm),
    ...(bootDisk(vm) ? { bootDevice: bootDisk(vm)!.key } : {}),
    ...releaseOf(sim, vm),
    disks: await guestDisks(sim, vm),
    agent: agentEnabled(vm.conf),
    ...(hasCloudinitDrive(vm.conf) ? { cloudInit: await buildSeed(sim, vm.node, vm.conf, vm.vmid) } : {}),
  };
  return spec;
}

/** Run a backend call; its failure becomes the task error `<prefix>: <message>`. */
export async function guestCall<T>(sim: Sim, vmid: number, action: string, prefix: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    sim.emit({ kind: 'guest-error', vmid, action, message });
    throw new Error(prefix ? `${prefix}: ${message}` : message);
  }
}
