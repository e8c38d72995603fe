/**
 * Where a persona's disks sit on the VM and in the guest, agreed by L2 (which attaches them) and
 * L3 (which formats and mounts them) without either importing the other: `root` is `scsi0`, the
 * other disks `scsi1`, `scsi2`… in declaration order, and the guest finds each one by the name
 * udev gives a QEMU SCSI disk, which does not depend on the order the kernel probes them in.
 */
export function diskSlots(disks: readonly { readonly name: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  let next = 1;
  for (const d of disks) out.set(d.name, d.name === 'root' ? 'scsi0' : `scsi${next++}`);
  return out;
}

/** `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1` for `scsi1`. */
export function guestDiskPath(slot: string): string {
  return `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-${slot}`;
}
