import { address, type Address } from '@lab/core';

/**
 * How L2 recognises its VMs on the live cluster without a state file (adr/0085): two tags and
 * a marker line in the description. Discovery reads `cluster/resources` once; the marker is
 * the proof of ownership (a tag alone can be typed by anyone in the GUI).
 */
export const LAB_TAG = 'lab';

export function personaTag(persona: string): string {
  return `lab-persona-${persona}`;
}

/** The persona a tag list names, if any. */
export function personaOfTags(tags: readonly string[]): string | undefined {
  for (const t of tags) if (t.startsWith('lab-persona-')) return t.slice('lab-persona-'.length);
  return undefined;
}

const MARKER_RE = /^lab:managed persona=([a-z0-9-]+)( adopted)?$/m;

export function marker(persona: string, adopted = false): string {
  return `lab:managed persona=${persona}${adopted ? ' adopted' : ''}`;
}

/** An adopted VM was not cloned by lab: its cloud-init identity and host keys stay its own (adr/0089). */
export function isAdopted(description: string | undefined): boolean {
  return description ? MARKER_RE.exec(description)?.[2] !== undefined : false;
}

/** The persona named by the description marker, if the VM is lab's. */
export function personaOfDescription(description: string | undefined): string | undefined {
  return description ? MARKER_RE.exec(description)?.[1] : undefined;
}

/** Description lab writes: the persona's own text, then the marker line. */
export function describeVm(persona: string, text: string | undefined, adopted = false): string {
  const head = text?.trim();
  return head ? `${head}\n\n${marker(persona, adopted)}` : marker(persona, adopted);
}

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
