import { LabError } from '@lab/core';
import { candidatePersona, personaOfDescription, pveList, pveNumber, pveString, readClusterResources, readVmConfig, type PveClient, type ResourceVm } from '@lab/pve';
import { vmAddress } from './_addresses.js';

/**
 * Finding a persona's VM by the rule L2 uses, `candidatePersona` of @lab/pve (adr/0085, adr/0141):
 * candidates from one `cluster/resources` read (lab's tags, the persona's name, or its declared
 * VMID), and the description marker `lab:managed persona=<name>` as the proof of ownership.
 */

/** The persona named by a description's marker line, if lab manages the VM (the rule L2 writes by). */
export const markerPersona = personaOfDescription;

/** One row of `cluster/resources` (type qemu). */
export type ClusterVm = ResourceVm;

/** A persona's VM as capture reads it: its current config (what vzdump saves). */
export interface PersonaVm {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  readonly name: string;
  readonly status: string;
  readonly tags: readonly string[];
  readonly lock: string | undefined;
  readonly protection: boolean;
  readonly config: Readonly<Record<string, string>>;
  readonly digest: string;
}

export interface ClusterView {
  readonly nodes: readonly { readonly node: string; readonly online: boolean }[];
  readonly vms: readonly ClusterVm[];
}

export async function readCluster(client: PveClient): Promise<ClusterView> {
  return readClusterResources(client);
}

/** The VM's config as stored (no pending values), every value as text. */
export async function readConfig(client: PveClient, node: string, vmid: number): Promise<{ config: Record<string, string>; digest: string }> {
  const raw = await readVmConfig(client, { node, vmid });
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const s = pveString(v);
    if (s !== undefined && k !== 'digest') config[k] = s;
  }
  return { config, digest: pveString(raw['digest']) ?? '' };
}

export interface FindPersonaVmOptions {
  /** `vm.vmid` of the persona, when it declares one. */
  readonly vmid?: number;
  /** An already read cluster view (saves a call). */
  readonly cluster?: ClusterView;
}

/**
 * The persona's VM, or undefined when it has none. A candidate without lab's marker is not
 * lab's: refused with `LAB_CAPTURE_VM_FOREIGN` rather than backed up or overwritten by mistake.
 */
export async function findPersonaVm(client: PveClient, persona: string, options: FindPersonaVmOptions = {}): Promise<PersonaVm | undefined> {
  const cluster = options.cluster ?? (await readCluster(client));
  const vmids = options.vmid === undefined ? undefined : new Map([[persona, options.vmid]]);
  const candidates = cluster.vms.filter((v) => candidatePersona(v, new Set([persona]), vmids) === persona);
  let foreign: ClusterVm | undefined;
  for (const vm of candidates.sort((a, b) => a.vmid - b.vmid)) {
    const { config, digest } = await readConfig(client, vm.node, vm.vmid);
    const owner = markerPersona(config['description']);
    if (owner === persona) {
      return {
        persona,
        vmid: vm.vmid,
        node: vm.node,
        name: config['name'] ?? vm.name,
        status: vm.status,
        tags: pveList(config['tags']),
        lock: config['lock'] || undefined,
        protection: pveNumber(config['protection']) === 1,
        config,
        digest,
      };
    }
    if (owner === undefined) foreign ??= vm;
  }
  if (foreign) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_FOREIGN',
      summary: `VM ${foreign.vmid} (${foreign.name}) on ${foreign.node} looks like persona ${persona}'s but lab does not manage it (no marker in its description)`,
      hint: `take it under lab first: lab adopt --vmid ${foreign.vmid} --persona ${persona}`,
      address: vmAddress(persona),
    });
  }
  return undefined;
}

/** Like `findPersonaVm`, but a missing VM is an error that says how to create it. */
export async function requirePersonaVm(client: PveClient, persona: string, options: FindPersonaVmOptions = {}): Promise<PersonaVm> {
  const vm = await findPersonaVm(client, persona, options);
  if (!vm) {
    throw new LabError({
      code: 'LAB_CAPTURE_VM_NOT_FOUND',
      summary: `persona ${persona} has no VM on the cluster`,
      hint: `create it: lab apply --layer l2 --persona ${persona}`,
      address: vmAddress(persona),
    });
  }
  return vm;
}
