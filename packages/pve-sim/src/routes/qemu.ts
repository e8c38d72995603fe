import type { Route, HandlerContext } from '../http/_router.js';
import { fail } from '../http/_errors.js';
import type { ObjectSchema } from '../schema/_types.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, pInt, req } from './_helpers.js';
import { CONFIG_SCHEMA, jsonValue } from '../qemu/config-schema.js';
import { configJson, digestOf, loadVm, loadVmOnNode, parsePendingDelete, pendingAppliedView } from '../qemu/vmconf.js';
import { vmStatus, vmStatusCurrent } from '../qemu/status.js';
import { createVm } from '../qemu/create.js';
import { updateVmAsync, updateVmSync } from '../qemu/update.js';
import { cloneVm } from '../qemu/clone.js';
import { templateVm } from '../qemu/template.js';
import { resizeVm } from '../qemu/resize.js';
import { destroyVm } from '../qemu/destroy.js';
import { assertRebootable, doReboot, doReset, doResume, doShutdown, doStart, doStop, doSuspend } from '../qemu/power.js';
import { ROOT } from '../access/acl.js';
import { paramError } from '../http/_errors.js';

const vmPath = '/nodes/{node}/qemu/{vmid}';
const base = { node: std.node, vmid: std.vmid } as const;

export const CREATE_SCHEMA: ObjectSchema = {
  ...CONFIG_SCHEMA,
  node: std.node,
  vmid: std.vmid,
  archive: opt(str({ maxLength: 255 })),
  storage: opt(std.storage),
  force: opt(bool({ requires: 'archive' })),
  unique: opt(bool({ requires: 'archive' })),
  'live-restore': opt(bool()),
  pool: opt(std.poolid),
  bwlimit: opt(int({ minimum: 0 })),
  start: opt(bool({ default: 0 })),
  'import-working-storage': opt(std.storage),
};

const UPDATE_SCHEMA: ObjectSchema = {
  ...CONFIG_SCHEMA,
  node: std.node,
  vmid: std.vmid,
  skiplock: std.skiplock,
  delete: opt(str({ format: 'pve-configid-list', maxLength: 4096 })),
  revert: opt(str({ format: 'pve-configid-list', maxLength: 4096 })),
  force: opt(bool({ requires: 'delete' })),
  digest: std.digest,
  'import-working-storage': opt(std.storage),
};

const CONFIG_PRIVS = [
  'VM.Config.Disk',
  'VM.Config.CDROM',
  'VM.Config.CPU',
  'VM.Config.Memory',
  'VM.Config.Network',
  'VM.Config.HWType',
  'VM.Config.Options',
  'VM.Config.Cloudinit',
];

function vmid(ctx: HandlerContext): number {
  return Number(req(ctx.params, 'vmid'));
}

function rootOnlySkiplock(ctx: HandlerContext): boolean {
  const skip = pBool(ctx.params, 'skiplock') ?? false;
  if (skip && ctx.principal !== ROOT) paramError({ skiplock: 'Only root may use this option.' });
  return skip;
}

const power = (name: string, type: string, params: ObjectSchema, run: (ctx: HandlerContext) => void | ((t: Parameters<typeof doStart>[3]) => Promise<void>)): Route => ({
  method: 'POST',
  path: `${vmPath}/status/${name}`,
  permissions: { check: ['perm', '/vms/{vmid}', ['VM.PowerMgmt']] },
  params: { ...base, ...params },
  handler: (ctx) => {
    const work = run(ctx);
    return ctx.sim.tasks.start({
      node: ctx.node,
      type,
      id: String(vmid(ctx)),
      user: ctx.principal,
      work: async (t) => {
        if (work) await work(t);
      },
    });
  },
});

export const qemuRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu',
    permissions: { user: 'all' },
    params: { node: std.node, full: opt(bool()) },
    handler: ({ sim, node, principal, params }) =>
      Object.values(sim.state.vms)
        .filter((vm) => vm.node === node && sim.access.has(principal, `/vms/${vm.vmid}`, ['VM.Audit']))
        .map((vm) => vmStatus(sim, vm, pBool(params, 'full') ?? false)),
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu',
    permissions: { user: 'all' },
    params: CREATE_SCHEMA,
    handler: ({ sim, principal, node, params }) => createVm(sim, principal, node, params),
  },
  {
    method: 'GET',
    path: vmPath,
    permissions: { user: 'all' },
    params: base,
    handler: () =>
      ['config', 'pending', 'status', 'unlink', 'vncproxy', 'termproxy', 'migrate', 'resize', 'move', 'rrd', 'rrddata', 'monitor', 'agent', 'snapshot', 'spiceproxy', 'sendkey', 'firewall', 'mtunnel', 'remote_migrate'].map((subdir) => ({ subdir })),
  },
  {
    method: 'DELETE',
    path: vmPath,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Allocate']] },
    params: { ...base, skiplock: std.skiplock, purge: opt(bool()), 'destroy-unreferenced-disks': opt(bool({ default: 0 })) },
    handler: (ctx) =>
      destroyVm(ctx.sim, ctx.principal, ctx.node, vmid(ctx), {
        purge: pBool(ctx.params, 'purge') ?? false,
        unreferenced: pBool(ctx.params, 'destroy-unreferenced-disks') ?? false,
        skiplock: rootOnlySkiplock(ctx),
      }),
  },
  {
    method: 'GET',
    path: `${vmPath}/config`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: { ...base, current: opt(bool({ default: 0 })), snapshot: opt(std.snapname) },
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      const snapname = p(ctx.params, 'snapshot');
      if (snapname !== undefined) {
        const snap = vm.snapshots[snapname];
        if (!snap) fail(`snapshot '${snapname}' does not exist`);
        return { ...configJson(snap), digest: digestOf(vm) };
      }
      const view = pBool(ctx.params, 'current') ? vm.conf : pendingAppliedView(vm);
      return { ...configJson(view), digest: digestOf(vm) };
    },
  },
  {
    method: 'PUT',
    path: `${vmPath}/config`,
    permissions: { check: ['perm', '/vms/{vmid}', CONFIG_PRIVS, { any: true }] },
    params: UPDATE_SCHEMA,
    handler: ({ sim, principal, node, params }) => updateVmSync(sim, principal, node, params),
  },
  {
    method: 'POST',
    path: `${vmPath}/config`,
    permissions: { check: ['perm', '/vms/{vmid}', CONFIG_PRIVS, { any: true }] },
    params: { ...UPDATE_SCHEMA, background_delay: opt(int({ minimum: 1, maximum: 30 })) },
    handler: ({ sim, principal, node, params }) => updateVmAsync(sim, principal, node, params),
  },
  {
    method: 'GET',
    path: `${vmPath}/pending`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: base,
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      const deletes = parsePendingDelete(vm.pending['delete']);
      const mask = (k: string, v: string): string | number => (k === 'cipassword' ? '**********' : jsonValue(k, v));
      const rows: Record<string, unknown>[] = [];
      const conf: Record<string, string> = { ...vm.conf, digest: digestOf(vm) };
      for (const k of Object.keys(conf)) {
        const row: Record<string, unknown> = { key: k, value: mask(k, conf[k]!) };
        if (vm.pending[k] !== undefined) row['pending'] = mask(k, vm.pending[k]!);
        if (deletes.has(k)) row['delete'] = deletes.get(k) ? 2 : 1;
        rows.push(row);
      }
      for (const k of Object.keys(vm.pending)) {
        if (k === 'delete' || conf[k] !== undefined) continue;
        rows.push({ key: k, pending: mask(k, vm.pending[k]!) });
      }
      for (const [k, force] of deletes) if (conf[k] === undefined) rows.push({ key: k, delete: force ? 2 : 1 });
      return rows;
    },
  },
  {
    method: 'PUT',
    path: `${vmPath}/resize`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Config.Disk']] },
    params: {
      ...base,
      skiplock: std.skiplock,
      disk: str({ enum: [...Array.from({ length: 4 }, (_v, i) => `ide${i}`), ...Array.from({ length: 31 }, (_v, i) => `scsi${i}`), ...Array.from({ length: 16 }, (_v, i) => `virtio${i}`), ...Array.from({ length: 6 }, (_v, i) => `sata${i}`), 'efidisk0', 'tpmstate0'] }),
      size: str({ pattern: /\+?\d+(\.\d+)?[KMGT]?/ }),
      digest: std.digest,
    },
    handler: (ctx) =>
      resizeVm(ctx.sim, ctx.principal, ctx.node, vmid(ctx), req(ctx.params, 'disk'), req(ctx.params, 'size'), p(ctx.params, 'digest'), pBool(ctx.params, 'skiplock') ?? false),
  },
  {
    method: 'GET',
    path: `${vmPath}/status`,
    permissions: { user: 'all' },
    params: base,
    handler: () => [{ subdir: 'current' }, { subdir: 'start' }, { subdir: 'stop' }, { subdir: 'reset' }, { subdir: 'shutdown' }, { subdir: 'suspend' }, { subdir: 'reboot' }],
  },
  {
    method: 'GET',
    path: `${vmPath}/status/current`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: base,
    handler: (ctx) => vmStatusCurrent(ctx.sim, loadVm(ctx.sim, ctx.node, vmid(ctx))),
  },
  power('start', 'qmstart', { skiplock: std.skiplock, timeout: opt(int({ minimum: 0 })), machine: opt(str()), 'force-cpu': opt(str()), migratedfrom: opt(std.node), stateuri: opt(str({ maxLength: 128 })), targetstorage: opt(str()), migration_type: opt(str({ enum: ['secure', 'insecure'] })), migration_network: opt(str()) }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    if (p(ctx.params, 'force-cpu') !== undefined && ctx.principal !== ROOT) paramError({ 'force-cpu': 'Only root may use this option.' });
    return (t) => doStart(ctx.sim, ctx.node, vmid(ctx), t, { skiplock });
  }),
  power('stop', 'qmstop', { skiplock: std.skiplock, timeout: opt(int({ minimum: 0 })), keepActive: opt(bool({ default: 0 })), 'overrule-shutdown': opt(bool({ default: 0 })), migratedfrom: opt(std.node) }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    if (pBool(ctx.params, 'keepActive') && ctx.principal !== ROOT) paramError({ keepActive: 'Only root may use this option.' });
    return () => doStop(ctx.sim, ctx.node, vmid(ctx), { skiplock });
  }),
  power('shutdown', 'qmshutdown', { skiplock: std.skiplock, timeout: opt(int({ minimum: 0 })), forceStop: opt(bool({ default: 0 })), keepActive: opt(bool({ default: 0 })) }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    const vm = ctx.sim.vm(vmid(ctx));
    const forceStop = pBool(ctx.params, 'forceStop') ?? false;
    if (vm && vm.node === ctx.node && vm.runtime.status === 'paused' && !forceStop) fail('VM is paused - cannot shutdown');
    const timeoutS = pInt(ctx.params, 'timeout');
    return () => doShutdown(ctx.sim, ctx.node, vmid(ctx), { skiplock, forceStop, ...(timeoutS !== undefined ? { timeoutS } : {}) });
  }),
  power('reboot', 'qmreboot', { timeout: opt(int({ minimum: 0 })) }, (ctx) => {
    assertRebootable(ctx.sim, ctx.node, vmid(ctx));
    return (t) => doReboot(ctx.sim, ctx.node, vmid(ctx), t, pInt(ctx.params, 'timeout'));
  }),
  power('reset', 'qmreset', { skiplock: std.skiplock }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    loadVm(ctx.sim, ctx.node, vmid(ctx));
    return () => doReset(ctx.sim, ctx.node, vmid(ctx), skiplock);
  }),
  power('suspend', 'qmsuspend', { skiplock: std.skiplock, todisk: opt(bool({ default: 0 })), statestorage: opt(std.storage) }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    if (pBool(ctx.params, 'todisk')) fail('suspend to disk is not supported by the simulator');
    return () => doSuspend(ctx.sim, ctx.node, vmid(ctx), skiplock);
  }),
  power('resume', 'qmresume', { skiplock: std.skiplock, nocheck: opt(bool()) }, (ctx) => {
    const skiplock = rootOnlySkiplock(ctx);
    loadVmOnNode(ctx.sim, ctx.node, vmid(ctx));
    return () => doResume(ctx.sim, ctx.node, vmid(ctx), skiplock);
  }),
  {
    method: 'POST',
    path: `${vmPath}/template`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Allocate']] },
    params: { ...base, disk: opt(str({ enum: ['efidisk0', 'tpmstate0', ...Array.from({ length: 4 }, (_v, i) => `ide${i}`), ...Array.from({ length: 31 }, (_v, i) => `scsi${i}`), ...Array.from({ length: 16 }, (_v, i) => `virtio${i}`), ...Array.from({ length: 6 }, (_v, i) => `sata${i}`)] })) },
    handler: (ctx) => templateVm(ctx.sim, ctx.principal, ctx.node, vmid(ctx), p(ctx.params, 'disk')),
  },
  {
    method: 'POST',
    path: `${vmPath}/clone`,
    permissions: {
      check: [
        'and',
        ['perm', '/vms/{vmid}', ['VM.Clone']],
        ['or', ['perm', '/vms/{newid}', ['VM.Allocate']], ['perm', '/pool/{pool}', ['VM.Allocate'], { requireParam: 'pool' }]],
      ],
    },
    params: {
      ...base,
      newid: std.vmid,
      name: opt(str({ format: 'dns-name' })),
      description: opt(str()),
      pool: opt(std.poolid),
      snapname: opt(std.snapname),
      storage: opt(std.storage),
      format: opt(str({ enum: ['raw', 'qcow2', 'vmdk'] })),
      full: opt(bool()),
      target: opt(std.node),
      bwlimit: opt(int({ minimum: 0 })),
    },
    handler: ({ sim, principal, node, params }) => cloneVm(sim, principal, node, params),
  },
];
