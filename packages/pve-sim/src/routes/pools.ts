import type { Route } from '../http/_router.js';
import { fail } from '../http/_errors.js';
import { bool, opt, std, str } from '../schema/std.js';
import { p, pBool, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import { splitList } from '../util/_list.js';
import { clusterResources } from './cluster.js';

function members(sim: Sim, poolid: string, principal: string, type: string | undefined): Record<string, unknown>[] {
  const pool = sim.state.pools[poolid];
  if (!pool) fail(`pool '${poolid}' does not exist`);
  const all = clusterResources(sim, 'root@pam', undefined);
  void principal;
  const out: Record<string, unknown>[] = [];
  if (!type || type === 'qemu') {
    for (const vmid of [...pool.vms].sort()) {
      const row = all.find((r) => r['id'] === `qemu/${vmid}`);
      if (row) out.push(row);
    }
  }
  if (!type || type === 'storage') {
    for (const s of [...pool.storage].sort()) {
      const row = all.find((r) => r['type'] === 'storage' && r['storage'] === s && r['node'] === sim.localNode) ?? all.find((r) => r['storage'] === s);
      if (row) out.push(row);
    }
  }
  return out;
}

function createPool(sim: Sim, poolid: string, comment: string | undefined): null {
  if (sim.state.pools[poolid]) fail(`create pool failed: pool '${poolid}' already exists`);
  const parent = /^(.*)\/[^/]+$/.exec(poolid)?.[1];
  if (parent !== undefined && !sim.state.pools[parent]) fail(`create pool failed: parent '${parent}' of pool '${poolid}' does not exist`);
  sim.state.pools[poolid] = { vms: [], storage: [], ...(comment ? { comment } : {}) };
  return null;
}

function updatePool(sim: Sim, principal: string, poolid: string, params: Parameters<Route['handler']>[0]['params']): null {
  const pool = sim.state.pools[poolid];
  const err = (m: string): never => fail(`update pools failed: ${m}`);
  if (!pool) err(`pool '${poolid}' does not exist`);
  const del = pBool(params, 'delete') ?? false;
  if (p(params, 'comment') !== undefined) pool!.comment = p(params, 'comment')!;
  for (const v of splitList(p(params, 'vms'))) {
    const vmid = Number(v);
    sim.access.checkAny(principal, `/vms/${vmid}`, ['Permissions.Modify', 'VM.Allocate']);
    if (del) {
      if (!pool!.vms.includes(vmid)) err(`VM ${vmid} is not a pool member`);
      pool!.vms = pool!.vms.filter((x) => x !== vmid);
      continue;
    }
    if (pool!.vms.includes(vmid)) err(`VM ${vmid} is already a pool member`);
    const existing = Object.entries(sim.state.pools).find(([, pr]) => pr.vms.includes(vmid))?.[0];
    if (existing !== undefined) {
      if (!pBool(params, 'allow-move')) err(`VM ${vmid} belongs already to pool '${existing}' and 'allow-move' is not set`);
      sim.access.check(principal, `/pool/${existing}`, ['Pool.Allocate']);
      sim.state.pools[existing]!.vms = sim.state.pools[existing]!.vms.filter((x) => x !== vmid);
    }
    pool!.vms.push(vmid);
  }
  for (const s of splitList(p(params, 'storage'))) {
    sim.access.checkAny(principal, `/storage/${s}`, ['Permissions.Modify', 'Datastore.Allocate']);
    if (del) {
      if (!pool!.storage.includes(s)) err(`Storage '${s}' is not a pool member`);
      pool!.storage = pool!.storage.filter((x) => x !== s);
    } else {
      if (pool!.storage.includes(s)) err(`Storage '${s}' is already a pool member`);
      pool!.storage.push(s);
    }
  }
  return null;
}

function deletePool(sim: Sim, poolid: string): null {
  const pool = sim.state.pools[poolid];
  if (!pool) fail(`delete pool failed: pool '${poolid}' does not exist`);
  const sub = Object.keys(sim.state.pools).find((k) => k.startsWith(`${poolid}/`));
  if (sub) fail(`delete pool failed: pool '${poolid}' is not empty (contains pool '${sub}')`);
  const vm = [...pool.vms].sort().find((v) => sim.vm(v));
  if (vm !== undefined) fail(`delete pool failed: pool '${poolid}' is not empty (contains VM ${vm})`);
  const st = [...pool.storage].sort().find((s) => sim.state.storage[s]);
  if (st !== undefined) fail(`delete pool failed: pool '${poolid}' is not empty (contains storage '${st}')`);
  delete sim.state.pools[poolid];
  sim.state.access.acl = sim.state.access.acl.filter((e) => e.path !== `/pool/${poolid}`);
  return null;
}

const updateParams = {
  poolid: std.poolid,
  comment: opt(str({ maxLength: 256 })),
  vms: opt(str({ format: 'pve-vmid-list' })),
  storage: opt(str({ format: 'pve-storage-id-list' })),
  'allow-move': opt(bool({ default: 0 })),
  delete: opt(bool({ default: 0 })),
};

export const poolRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/pools',
    permissions: { user: 'all' },
    params: { poolid: opt(std.poolid), type: opt(str({ enum: ['qemu', 'lxc', 'storage'], requires: 'poolid' })) },
    handler: ({ sim, principal, params }) => {
      const poolid = p(params, 'poolid');
      if (poolid !== undefined) {
        sim.access.check(principal, `/pool/${poolid}`, ['Pool.Audit']);
        const pool = sim.state.pools[poolid];
        if (!pool) fail(`pool '${poolid}' does not exist`);
        return [{ poolid, ...(pool.comment ? { comment: pool.comment } : {}), members: members(sim, poolid, principal, p(params, 'type')) }];
      }
      return Object.entries(sim.state.pools)
        .filter(([id]) => sim.access.has(principal, `/pool/${id}`, ['Pool.Audit']))
        .map(([id, pr]) => ({ poolid: id, ...(pr.comment ? { comment: pr.comment } : {}) }));
    },
  },
  {
    method: 'POST',
    path: '/pools',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Allocate']] },
    params: { poolid: std.poolid, comment: opt(str({ maxLength: 256 })) },
    handler: ({ sim, params }) => createPool(sim, req(params, 'poolid'), p(params, 'comment')),
  },
  {
    method: 'PUT',
    path: '/pools',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Allocate']] },
    params: updateParams,
    handler: ({ sim, principal, params }) => updatePool(sim, principal, req(params, 'poolid'), params),
  },
  {
    method: 'DELETE',
    path: '/pools',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Allocate']] },
    params: { poolid: std.poolid },
    handler: ({ sim, params }) => deletePool(sim, req(params, 'poolid')),
  },
  {
    method: 'GET',
    path: '/pools/{poolid}',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Audit']] },
    params: { poolid: std.poolid, type: opt(str({ enum: ['qemu', 'lxc', 'storage'] })) },
    handler: ({ sim, principal, params }) => {
      const poolid = req(params, 'poolid');
      const pool = sim.state.pools[poolid];
      if (!pool) fail(`pool '${poolid}' does not exist`);
      return { members: members(sim, poolid, principal, p(params, 'type')), ...(pool.comment ? { comment: pool.comment } : {}) };
    },
  },
  {
    method: 'PUT',
    path: '/pools/{poolid}',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Allocate']] },
    params: updateParams,
    handler: ({ sim, principal, params }) => updatePool(sim, principal, req(params, 'poolid'), params),
  },
  {
    method: 'DELETE',
    path: '/pools/{poolid}',
    permissions: { check: ['perm', '/pool/{poolid}', ['Pool.Allocate']] },
    params: { poolid: std.poolid },
    handler: ({ sim, params }) => deletePool(sim, req(params, 'poolid')),
  },
];

/** Pool membership for a new VM (`add_vm_to_pool`). */
export function addVmToPool(sim: Sim, vmid: number, poolid: string): void {
  const pool = sim.state.pools[poolid];
  if (!pool) fail(`pool '${poolid}' does not exist`);
  for (const pr of Object.values(sim.state.pools)) pr.vms = pr.vms.filter((v) => v !== vmid);
  pool.vms.push(vmid);
}

export function removeVmFromPools(sim: Sim, vmid: number): void {
  for (const pr of Object.values(sim.state.pools)) pr.vms = pr.vms.filter((v) => v !== vmid);
}

export function poolOfVm(sim: Sim, vmid: number): string | undefined {
  return Object.entries(sim.state.pools).find(([, pr]) => pr.vms.includes(vmid))?.[0];
}
