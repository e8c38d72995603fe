import type { Address, Reporter } from '@lab/core';
import { apiPath } from './_form.js';
import type { PveClient } from './client.js';
import { pveRecord, pveString } from './coerce.js';
import { isPveError } from './errors.js';

/**
 * The VM life-cycle calls that L1's bake, `lab capture template` and the engine share
 * (adr/0146): clone, configure, start, shut down, template, destroy. Paths are spelled here
 * once; each call waits for its task and reports it as a step.
 */

export interface VmRef {
  readonly node: string;
  readonly vmid: number;
}

export interface VmCallOptions {
  readonly reporter?: Reporter;
  readonly address?: Address;
  readonly pollMs?: number;
  readonly title?: string;
}

function vmPath(vm: VmRef, ...rest: string[]): string {
  return apiPath('nodes', vm.node, 'qemu', String(vm.vmid), ...rest);
}

function wait(o: VmCallOptions, title: string) {
  return { title: o.title ?? title, ...(o.reporter ? { reporter: o.reporter } : {}), ...(o.address ? { address: o.address } : {}), ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}) };
}

export interface CloneOptions extends VmCallOptions {
  readonly newid: number;
  readonly name: string;
  /** Full clone (own disks); linked clones share the template's base disk. */
  readonly full: boolean;
  /** Target storage of a full clone's disks. */
  readonly storage?: string;
  readonly description?: string;
}

export async function cloneVm(client: PveClient, source: VmRef, o: CloneOptions): Promise<VmRef> {
  const params = { newid: o.newid, name: o.name, full: o.full ? 1 : 0, ...(o.storage ? { storage: o.storage } : {}), ...(o.description !== undefined ? { description: o.description } : {}) };
  await client.runTask('POST', vmPath(source, 'clone'), params, wait(o, `${o.full ? 'full ' : ''}clone of VM ${source.vmid} to ${o.newid} ${o.name}`));
  return { node: source.node, vmid: o.newid };
}

/** Set (and with `delete`, remove) config keys; synchronous in PVE for cloud-init and metadata keys. */
export async function configureVm(client: PveClient, vm: VmRef, params: Readonly<Record<string, string | number>>): Promise<void> {
  await client.put(vmPath(vm, 'config'), params);
}

export async function readVmConfig(client: PveClient, vm: VmRef): Promise<Record<string, string>> {
  const raw = pveRecord(await client.get(vmPath(vm, 'config')));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const s = pveString(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

export async function vmStatus(client: PveClient, vm: VmRef): Promise<{ status: string; lock?: string }> {
  const st = pveRecord(await client.get(vmPath(vm, 'status', 'current')));
  const lock = pveString(st['lock']);
  return { status: pveString(st['status']) ?? 'unknown', ...(lock ? { lock } : {}) };
}

export async function startVm(client: PveClient, vm: VmRef, o: VmCallOptions = {}): Promise<void> {
  await client.runTask('POST', vmPath(vm, 'status', 'start'), undefined, wait(o, `start VM ${vm.vmid}`));
}

/** ACPI shutdown, stopped hard after `timeoutS`. */
export async function shutdownVm(client: PveClient, vm: VmRef, o: VmCallOptions & { readonly timeoutS?: number } = {}): Promise<void> {
  await client.runTask('POST', vmPath(vm, 'status', 'shutdown'), { timeout: o.timeoutS ?? 120, forceStop: 1 }, wait(o, `shut down VM ${vm.vmid}`));
}

export async function convertToTemplate(client: PveClient, vm: VmRef, o: VmCallOptions = {}): Promise<void> {
  await client.runTask('POST', vmPath(vm, 'template'), undefined, wait(o, `convert VM ${vm.vmid} to a template`));
}

/**
 * Stop (when running), unprotect and destroy a VM with its disks. Gone already is fine. With
 * `onlyIfName`, a VM of another name under that VMID is left alone (it is not the one the
 * caller made). Returns whether a VM was destroyed.
 */
export async function destroyVm(client: PveClient, vm: VmRef, o: VmCallOptions & { readonly onlyIfName?: string } = {}): Promise<boolean> {
  try {
    const config = await readVmConfig(client, vm);
    if (o.onlyIfName !== undefined && config['name'] !== o.onlyIfName) return false;
    if (config['template'] !== '1' && (await vmStatus(client, vm)).status === 'running') {
      await client.runTask('POST', vmPath(vm, 'status', 'stop'), undefined, wait({ ...o, title: undefined }, `stop VM ${vm.vmid}`));
    }
    if (config['protection'] === '1') await configureVm(client, vm, { protection: 0 });
    await client.runTask('DELETE', vmPath(vm), { purge: 1, 'destroy-unreferenced-disks': 1 }, wait(o, `destroy VM ${vm.vmid} on ${vm.node}`));
    return true;
  } catch (err) {
    if (isPveError(err, 'LAB_PVE_NOT_FOUND')) return false;
    throw err;
  }
}
