import { address, type Address } from '@lab/core';

/**
 * How L2 recognises its VMs on the live cluster without a state file (adr/0085): the tags and
 * the description marker are shared with capture, so they live in @lab/pve.
 */
export { LAB_TAG, personaTag, personaOfTags, marker, isAdopted, personaOfDescription, describeVm } from '@lab/pve';

/**
 * Owner id of persistent data volumes. PVE frees on destroy only volumes whose owner id equals
 * the VM's (QS `destroy_vm`, `try_deallocate_drive`), so data disks owned by this id outlive
 * the VM; `cluster/nextid` never hands it out (it stays below 1 000 000).
 */
export const HOLDER_VMID = 999_999_999;

/**
 * `vm-999999999-lab_identity_data` (adr/0163): persona and disk are joined by `_`, which neither
 * a persona name (a DNS label) nor a disk name (`[a-z][a-z0-9-]*`) can contain, so no two
 * (persona, disk) pairs share a volume. PVE storages (dir, LVM, ZFS, RBD) all accept `_`.
 */
export function persistentVolumeName(persona: string, disk: string): string {
  return `vm-${HOLDER_VMID}-lab_${persona}_${disk}`;
}

/**
 * The name lab gave persistent volumes before adr/0163: `vm-999999999-lab-<persona>-<disk>`.
 * Ambiguous (`coll` + `a-b` and `coll-a` + `b` both read `lab-coll-a-b`), so it is only ever
 * looked up for one (persona, disk) pair and never parsed; `lab validate` refuses a lab where two
 * pairs share it, so an existing volume of that name belongs to exactly one pair.
 */
export function legacyVolumeName(persona: string, disk: string): string {
  return `vm-${HOLDER_VMID}-lab-${persona}-${disk}`;
}

/** Persona and disk of a volume named by `persistentVolumeName` (legacy names are not parsed: they are ambiguous). */
export function parsePersistentVolume(volid: string): { persona: string; disk: string } | undefined {
  const m = new RegExp(`(?:^|:)vm-${HOLDER_VMID}-lab_([a-z0-9-]+)_([a-z][a-z0-9-]*)(?:\\.(?:raw|qcow2|vmdk))?$`).exec(volid);
  return m ? { persona: m[1]!, disk: m[2]! } : undefined;
}

/** Does `volid` (with or without storage) name the persistent volume of this pair, new or legacy? */
export function isVolumeOf(volid: string, persona: string, disk: string): 'current' | 'legacy' | undefined {
  const name = volid.slice(volid.indexOf(':') + 1).replace(/\.(raw|qcow2|vmdk)$/, '').replace(/^\d+\//, '');
  if (name === persistentVolumeName(persona, disk)) return 'current';
  if (name === legacyVolumeName(persona, disk)) return 'legacy';
  return undefined;
}

/** Snippet carrying the VM's SSH host key as cloud-init vendor data. */
export function hostKeySnippetName(persona: string): string {
  return `lab-${persona}-hostkey.yaml`;
}

export function vmAddress(persona: string): Address {
  return address(persona, 'l2', 'vm');
}

/** Basis key of a persona's VM: its config digest, or `absent`. */
export const basisKey = (persona: string): string => vmAddress(persona);
export const ABSENT = 'absent';
