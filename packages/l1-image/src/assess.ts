import { checksumText, type DesiredTemplate } from './intent.js';
import { isBuildVm, type ImageObservation, type ObservedVm } from './observe.js';

/** Where one desired template stands on the cluster. */
export type TemplateState =
  | { readonly kind: 'ready'; readonly vm: ObservedVm }
  /** Creation or conversion was interrupted (no `template: 1`, or disks missing). */
  | { readonly kind: 'unfinished'; readonly vm: ObservedVm }
  /** A finished template built from another URL, checksum or build settings. */
  | { readonly kind: 'stale'; readonly vm: ObservedVm; readonly why: string }
  | { readonly kind: 'locked'; readonly vm: ObservedVm }
  | { readonly kind: 'missing' };

/** Build VMs (finished or not) of one image version on one node. */
export function buildVmsOf(obs: ImageObservation, image: string, version: string, node?: string): ObservedVm[] {
  return obs.vms.filter((vm) => isBuildVm(vm) && vm.provenance?.image === image && vm.provenance.version === version && (node === undefined || vm.node === node));
}

/** VMs that were cloned from a version: they carry its tag and are not L1's own build VMs. */
export function usersOf(obs: ImageObservation, tag: string): ObservedVm[] {
  return obs.vms.filter((vm) => !isBuildVm(vm) && !vm.template && vm.tags.includes(tag));
}

function complete(vm: ObservedVm, d: DesiredTemplate): string | undefined {
  const c = vm.config ?? {};
  if (!c['scsi0']?.startsWith(`${d.diskStorage}:`)) return 'scsi0 is not the imported disk';
  if (!/(?:^|,)media=cdrom/.test(c['ide2'] ?? '') || !(c['ide2'] ?? '').includes('cloudinit')) return 'no cloud-init drive on ide2';
  if (d.serialConsole && c['serial0'] !== 'socket') return 'no serial console';
  if (d.guestAgent && !/^(?:enabled=)?1/.test(c['agent'] ?? '')) return 'guest agent not enabled';
  return undefined;
}

/** Compare one desired template with what the node has. Pure. */
export function assessTemplate(d: DesiredTemplate, obs: ImageObservation): TemplateState {
  const vms = buildVmsOf(obs, d.image, d.version, d.node);
  const vm = vms.find((v) => v.template) ?? vms[0];
  if (!vm) return { kind: 'missing' };
  if (vm.lock !== undefined) return { kind: 'locked', vm };
  if (!vm.template) return { kind: 'unfinished', vm };
  const p = vm.provenance!;
  if (p.url !== d.url) return { kind: 'stale', vm, why: `built from ${p.url}` };
  if (p.checksum !== checksumText(d)) return { kind: 'stale', vm, why: `built from a file with ${p.checksum.slice(0, 20)}…` };
  if (p.build !== d.build) return { kind: 'stale', vm, why: 'built with other settings (storage, serial console, agent or cloud-init user)' };
  const gap = complete(vm, d);
  return gap === undefined ? { kind: 'ready', vm } : { kind: 'stale', vm, why: gap };
}
