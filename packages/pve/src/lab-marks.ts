/**
 * How lab marks its VMs on a Proxmox cluster, so every Proxmox-facing package (L2 creates and
 * finds them, capture backs them up and restores them) recognises them the same way without a
 * state file (adr/0085): two tags and a marker line in the description. The marker is the proof
 * of ownership (a tag alone can be typed by anyone in the GUI).
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
 * "Find the persona's VM", the rule every package uses (adr/0085, adr/0141): the persona among
 * `wanted` a `cluster/resources` row may belong to — by lab's tags, by the persona's declared
 * VMID, or by its name. Templates are never candidates. Only a candidate is read further; its
 * description marker (`personaOfDescription`) then decides: lab's when it names the persona,
 * foreign when it has none.
 */
export function candidatePersona(vm: { readonly vmid: number; readonly name: string; readonly tags: readonly string[]; readonly template: boolean }, wanted: ReadonlySet<string>, vmids: ReadonlyMap<string, number> = new Map()): string | undefined {
  if (vm.template) return undefined;
  const byTag = vm.tags.includes(LAB_TAG) ? personaOfTags(vm.tags) : undefined;
  const byVmid = [...vmids].find(([, id]) => id === vm.vmid)?.[0];
  return [byTag, byVmid, wanted.has(vm.name) ? vm.name : undefined].find((p) => p !== undefined && wanted.has(p));
}
