import { apiPath, type Params } from './_form.js';
import type { MutateOptions, MutationResult, PveClient } from './client.js';
import type { RequestOptions } from './transport.js';
import { parseResources, type ResourceNode, type ResourceVm } from './cluster-resources.js';
import { pveArray, pveInt, pveRecord, pveString } from './coerce.js';
import type { TaskResult, WaitOptions } from './tasks.js';
import type { VmRef } from './vm-ops.js';

/**
 * Typed Proxmox VE operations, with the VM life-cycle calls of vm-ops.ts (adr/0146): the one
 * place outside the client that spells API paths (adr/0142). Layers, capture and the engine call these instead of building `/nodes/…` strings;
 * a boundary test refuses raw API paths elsewhere. Each operation is one API call, named for what
 * it does, with PVE's parameters passed through (PVE's own names: `forceStop`, `purge`, …) and the
 * answer read through the `pve*` coercers.
 */

const vmPath = (vm: VmRef, ...rest: string[]): string => apiPath('nodes', vm.node, 'qemu', String(vm.vmid), ...rest);
const storagePath = (node: string, storage: string, ...rest: string[]): string => apiPath('nodes', node, 'storage', storage, ...rest);

// --- cluster --------------------------------------------------------------------------------

/** `GET /cluster/resources` (optionally `type=vm`), parsed into nodes and VMs. */
export async function readClusterResources(client: PveClient, params?: { readonly type?: 'vm' | 'node' | 'storage' }): Promise<{ nodes: ResourceNode[]; vms: ResourceVm[] }> {
  return parseResources(pveArray(await client.get('/cluster/resources', params ? { ...params } : undefined)));
}

/**
 * `GET /cluster/nextid`: the next free VMID PVE proposes, or undefined when it names none. With
 * `vmid`, PVE checks that one instead (a 400 `VM N already exists` when taken).
 */
export async function nextFreeVmid(client: PveClient, vmid?: number): Promise<number | undefined> {
  return pveInt(await client.get('/cluster/nextid', vmid === undefined ? undefined : { vmid }));
}

// --- one VM ---------------------------------------------------------------------------------

/** `POST /nodes/{node}/qemu` with `archive`: restore a backup as VM `params.vmid`, and wait. */
export function restoreVm(client: PveClient, node: string, params: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', apiPath('nodes', node, 'qemu'), params, wait);
}

/** `POST …/qemu/{vmid}/snapshot` and wait. */
export function createVmSnapshot(client: PveClient, vm: VmRef, snapname: string, description?: string, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', vmPath(vm, 'snapshot'), { snapname, ...(description !== undefined ? { description } : {}) }, wait);
}

/** `POST …/snapshot/{snapname}/rollback` (`start`) and wait. */
export function rollbackVmSnapshot(client: PveClient, vm: VmRef, snapname: string, params?: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', vmPath(vm, 'snapshot', snapname, 'rollback'), params, wait);
}

/** `DELETE …/snapshot/{snapname}` and wait. */
export function deleteVmSnapshot(client: PveClient, vm: VmRef, snapname: string, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('DELETE', vmPath(vm, 'snapshot', snapname), undefined, wait);
}

// --- storage and backups --------------------------------------------------------------------

/** `GET /nodes/{node}/storage/{storage}/status`. */
export async function readStorageStatus(client: PveClient, node: string, storage: string): Promise<Record<string, unknown>> {
  return pveRecord(await client.get(storagePath(node, storage, 'status')));
}

/** `GET /nodes/{node}/storage/{storage}/content` (`content`, `vmid` filters): one row per volume. */
export async function listStorageContent(client: PveClient, node: string, storage: string, params?: Params): Promise<readonly unknown[]> {
  return pveArray(await client.get(storagePath(node, storage, 'content'), params));
}

/** `DELETE /nodes/{node}/storage/{storage}/content/{volid}`: PVE's answer (a UPID on some storages, else nothing). */
export function deleteVolume(client: PveClient, node: string, storage: string, volid: string): Promise<unknown> {
  return client.delete(storagePath(node, storage, 'content', volid));
}

/** `POST /nodes/{node}/vzdump` and wait for the backup task. */
export function runVzdump(client: PveClient, node: string, params: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', apiPath('nodes', node, 'vzdump'), params, wait);
}

/** `GET /nodes/{node}/vzdump/extractconfig`: the VM config inside a backup archive, as text. */
export async function extractArchiveConfig(client: PveClient, node: string, volid: string): Promise<string> {
  return pveString(await client.get(apiPath('nodes', node, 'vzdump', 'extractconfig'), { volume: volid })) ?? '';
}

// --- templates and imports (L1) -------------------------------------------------------------

/** VMIDs of every guest (`type=vm`: QEMU and LXC) the cluster knows, for a free-VMID search. */
export async function clusterVmids(client: PveClient): Promise<number[]> {
  const rows = pveArray(await client.get('/cluster/resources', { type: 'vm' }));
  return rows.map((r) => pveInt(pveRecord(r)['vmid'])).filter((n): n is number => n !== undefined);
}

/** `GET /nodes/{node}/qemu`: one row per VM on the node. */
export async function listNodeVms(client: PveClient, node: string): Promise<readonly unknown[]> {
  return pveArray(await client.get(apiPath('nodes', node, 'qemu')));
}

/** `POST /nodes/{node}/qemu`: create a VM (`params.vmid`), resent safely with `alreadyDone`. */
export function createVm(client: PveClient, node: string, params: Params, options: MutateOptions): Promise<MutationResult<string>> {
  return client.mutate<string>('POST', apiPath('nodes', node, 'qemu'), params, options);
}

/** `DELETE …/qemu/{vmid}` as is, and wait (`destroyVm` of vm-ops.ts stops and unprotects first). */
export function deleteVm(client: PveClient, vm: VmRef, params?: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('DELETE', apiPath('nodes', vm.node, 'qemu', String(vm.vmid)), params, wait);
}

/** `POST /nodes/{node}/storage/{storage}/download-url` and wait for the download. */
export function downloadToStorage(client: PveClient, node: string, storage: string, params: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', storagePath(node, storage, 'download-url'), params, wait);
}

/** `DELETE /nodes/{node}/storage/{storage}/content/{volid}` as a task, and wait for it. */
export function removeVolume(client: PveClient, node: string, storage: string, volid: string, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('DELETE', storagePath(node, storage, 'content', volid), undefined, wait);
}

// --- VMs as L2 drives them ------------------------------------------------------------------

const qemuPath = (vm: VmRef, ...rest: string[]): string => apiPath('nodes', vm.node, 'qemu', String(vm.vmid), ...rest);

/** `POST …/status/{start|stop|shutdown|reboot}` and wait, with the caller's wait options as they are. */
export function changeVmPower(client: PveClient, vm: VmRef, action: 'start' | 'stop' | 'shutdown' | 'reboot', params?: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('POST', qemuPath(vm, 'status', action), params, wait);
}

/** `GET …/status/current`, the whole record (`status`, `lock`, `qmpstatus`, …). */
export async function readVmCurrent(client: PveClient, vm: VmRef, request?: RequestOptions): Promise<Record<string, unknown>> {
  return pveRecord(await client.get(qemuPath(vm, 'status', 'current'), undefined, request));
}

/** `POST …/agent/ping`: answers when the guest agent does. */
export function pingGuestAgent(client: PveClient, vm: VmRef, request?: RequestOptions): Promise<unknown> {
  return client.post(qemuPath(vm, 'agent', 'ping'), undefined, request);
}

/** `GET …/pending`: one row per key with its current and pending value, and the digest. */
export async function readVmPending(client: PveClient, vm: VmRef): Promise<readonly unknown[]> {
  return pveArray(await client.get(qemuPath(vm, 'pending')));
}

/** `POST …/clone`, resent safely with `alreadyDone`; the caller waits for the UPID. */
export function requestClone(client: PveClient, source: VmRef, params: Params, options: MutateOptions): Promise<MutationResult<string>> {
  return client.mutate<string>('POST', qemuPath(source, 'clone'), params, options);
}

/** `PUT …/resize` and wait. */
export function resizeVmDisk(client: PveClient, vm: VmRef, params: Params, wait?: WaitOptions): Promise<TaskResult> {
  return client.runTask('PUT', qemuPath(vm, 'resize'), params, wait);
}

/** `PUT …/config` with any parameters (`digest`, `delete`, `force`). */
export async function updateVmConfig(client: PveClient, vm: VmRef, params: Params): Promise<void> {
  await client.put(qemuPath(vm, 'config'), params);
}

/** `DELETE …/qemu/{vmid}`, resent safely with `alreadyDone`; the caller waits for the UPID. */
export function requestVmDelete(client: PveClient, vm: VmRef, params: Params, options: MutateOptions): Promise<MutationResult<string>> {
  return client.mutate<string>('DELETE', qemuPath(vm), params, options);
}

/** `POST /nodes/{node}/storage/{storage}/content`: allocate a volume, resent safely with `alreadyDone`. */
export function allocateVolume(client: PveClient, node: string, storage: string, params: Params, options: MutateOptions): Promise<MutationResult<string>> {
  return client.mutate<string>('POST', storagePath(node, storage, 'content'), params, options);
}

// --- pools (L2's persona locks) -------------------------------------------------------------

/** `GET /pools/{poolid}`. */
export async function readPool(client: PveClient, poolid: string): Promise<Record<string, unknown>> {
  return pveRecord(await client.get(apiPath('pools', poolid)));
}

/** `POST /pools`, resent safely with `alreadyDone`. */
export function createPool(client: PveClient, params: Params, options: MutateOptions): Promise<MutationResult<unknown>> {
  return client.mutate('POST', '/pools', params, options);
}

/** `DELETE /pools?poolid=…` */
export function deletePool(client: PveClient, poolid: string): Promise<unknown> {
  return client.delete('/pools', { poolid });
}
