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

/** `vm-999999999-lab-identity-data`: the persona and disk are in the name, so no state is needed. */
export function persistentVolumeName(persona: string, disk: string): string {
  return `vm-${HOLDER_VMID}-lab-${persona}-${disk}`;
}

export function parsePersistentVolume(volid: string): { persona: string; disk: string } | undefined {
  const m = new RegExp(`(?:^|:)vm-${HOLDER_VMID}-lab-([a-z0-9-]+?)-([a-z][a-z0-9-]*)$`).exec(volid);
  return m ? { persona: m[1]!, disk: m[2]! } : undefined;
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
