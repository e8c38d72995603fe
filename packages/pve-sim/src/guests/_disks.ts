import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LabError } from '@lab/core';
import type { GuestDisk } from './backend.js';

/**
 * A data disk reaches a container guest as a real block device (adr/0175): the volume's raw file
 * is attached to a loop device on the host, and the guest's lab-guest-disks unit makes the node
 * (`/dev/sdb`) and its udev name (`/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1`) from
 * `/etc/lab-guest/disks` before local-fs.target, so the guest formats, labels and mounts it with
 * the same commands as on a VM. The container may use loop devices (`b 7:* rwm`); which ones it
 * sees is what the simulator lists.
 */

export const DISKS_FILE = '/etc/lab-guest/disks';
export const GUEST_DISKS = '/usr/local/sbin/lab-guest-disks';
export const LOOP_MAJOR = 7;
/** Lets the guest open the loop devices the simulator lists (nodes are made inside the guest). */
export const LOOP_CGROUP_RULE = `b ${LOOP_MAJOR}:* rwm`;

const run = promisify(execFile);

/** One attached disk as the guest's disks file lists it. */
export interface AttachedDisk {
  readonly disk: GuestDisk;
  readonly loop: string;
  readonly major: number;
  readonly minor: number;
}

/**
 * Kernel names as a QEMU guest gets them: SCSI, SATA and IDE disks share `sdX` in drive order
 * (the boot disk takes its letter though the container is its root), VirtIO block disks `vdX`.
 */
export function kernelNames(bootDevice: string | undefined, disks: readonly GuestDisk[]): Map<string, string> {
  const letters = (i: number): string => (i < 26 ? String.fromCharCode(97 + i) : letters(Math.floor(i / 26) - 1) + String.fromCharCode(97 + (i % 26)));
  const bus = (d: string): 'sd' | 'vd' => (d.startsWith('virtio') ? 'vd' : 'sd');
  const rank = (d: string): number => ['scsi', 'sata', 'ide', 'virtio'].findIndex((b) => d.startsWith(b)) * 1000 + Number(/\d+$/.exec(d)?.[0] ?? 0);
  const all = [...new Set([...(bootDevice ? [bootDevice] : []), ...disks.map((d) => d.device)])].sort((a, b) => rank(a) - rank(b));
  const next = { sd: 0, vd: 0 };
  const out = new Map<string, string>();
  for (const device of all) {
    const b = bus(device);
    out.set(device, `${b}${letters(next[b]++)}`);
  }
  return out;
}

/** The `/dev/disk/by-id` name udev gives the drive in a PVE guest, or `-` when it gives none. */
export function byIdName(device: string): string {
  if (device.startsWith('scsi')) return `scsi-0QEMU_QEMU_HARDDISK_drive-${device}`;
  if (device.startsWith('sata') || device.startsWith('ide')) return `ata-QEMU_HARDDISK_QM0000${/\d+$/.exec(device)?.[0] ?? '0'}`;
  return '-';
}

/** `/etc/lab-guest/disks`: one `<name> <major>:<minor> <by-id>` line per attached data disk. */
export function disksFile(bootDevice: string | undefined, attached: readonly AttachedDisk[]): string {
  const names = kernelNames(bootDevice, attached.map((a) => a.disk));
  const lines = ["# Written by the lab simulator before boot: the VM's data disks (see lab-guest-disks)."];
  for (const a of attached) lines.push(`${names.get(a.disk.device)} ${a.major}:${a.minor} ${byIdName(a.disk.device)}`);
  return `${lines.join('\n')}\n`;
}

function loopError(summary: string, err: unknown): LabError {
  const stderr = (err as { stderr?: string }).stderr ?? String(err);
  const missing = (err as { code?: string }).code === 'ENOENT';
  return new LabError({
    code: 'LAB_SIM_DISK_ATTACH_FAILED',
    summary,
    detail: stderr.trim(),
    hint: missing ? 'sudo apt-get install mount' : 'run the simulator as root on a machine with loop devices (ls /dev/loop-control)',
    cause: err,
  });
}

/** Loop devices (`/dev/loopN`) currently backed by `file`. */
export async function loopsOf(file: string): Promise<string[]> {
  try {
    const { stdout } = await run('losetup', ['--associated', file, '--noheadings', '--output', 'NAME', '--list']);
    return stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('/dev/'));
  } catch (err) {
    throw loopError(`could not list the loop devices of ${file}`, err);
  }
}

/** Attach the disk's file to a loop device (reusing one that already is) and read its numbers. */
export async function attachDisk(disk: GuestDisk): Promise<AttachedDisk> {
  let loop = (await loopsOf(disk.file))[0];
  if (!loop) {
    try {
      loop = (await run('losetup', ['--find', '--show', disk.file])).stdout.trim();
    } catch (err) {
      throw loopError(`could not attach data disk ${disk.device} (${disk.file}) to a loop device`, err);
    }
  } else {
    // A disk grown while detached from the guest: let the loop device see the new size.
    await run('losetup', ['--set-capacity', loop]).catch(() => undefined);
  }
  const rdev = (await stat(loop)).rdev;
  return { disk, loop, major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00)) };
}

/** Detach every loop device backed by one of `files` (the guest must have stopped). */
export async function detachFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    for (const loop of await loopsOf(file)) {
      await run('losetup', ['--detach', loop]).catch(() => undefined);
    }
  }
}

/** Where the simulator keeps, inside the container, which host files back its disks (one per line). */
export const HOST_DISKS_FILE = '/etc/lab-guest/host-disks';

export function hostDisksFile(attached: readonly AttachedDisk[]): string {
  return attached.map((a) => `${a.disk.file}\n`).join('');
}

export function parseHostDisks(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('/'));
}

/** The first file's content in a tar stream (what `docker cp CONTAINER:FILE -` writes). */
export function firstTarFile(tar: Buffer): string {
  if (tar.length < 512) return '';
  const size = parseInt(tar.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
  return tar.subarray(512, 512 + size).toString('utf8');
}
