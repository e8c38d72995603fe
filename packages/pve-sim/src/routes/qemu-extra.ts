import type { Route, HandlerContext, Permissions } from '../http/_router.js';
import type { Sim } from '../engine/sim.js';
import { fail } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, req } from './_helpers.js';
import { checkLock, configJson, drivesOf, hasCloudinitDrive, isCdrom, loadVm, normaliseDescription } from '../qemu/vmconf.js';
import { createSnapshot, deleteSnapshot, listSnapshots, rollbackSnapshot } from '../qemu/snapshot.js';
import { agentNetworkInterfaces, agentSimple } from '../qemu/agent.js';
import { dumpCloudinit } from '../qemu/cloudinit.js';
import { CLOUDINIT_KEYS } from '../qemu/config-schema.js';
import { vzdump, readArchive } from '../qemu/vzdump.js';
import { findVolume, parseVolid, volumeHasFeature } from '../storage/volumes.js';
import { checkVolumeAccess } from './node-storage.js';

const vmPath = '/nodes/{node}/qemu/{vmid}';
const base = { node: std.node, vmid: std.vmid } as const;
const vmid = (ctx: HandlerContext): number => Number(req(ctx.params, 'vmid'));

const AGENT_GET = ['get-fsinfo', 'get-host-name', 'get-memory-block-info', 'get-memory-blocks', 'get-osinfo', 'get-time', 'get-timezone', 'get-users', 'get-vcpus', 'info', 'network-get-interfaces'];
const AGENT_POST = ['fsfreeze-freeze', 'fsfreeze-status', 'fsfreeze-thaw', 'fstrim', 'ping', 'shutdown', 'suspend-disk', 'suspend-hybrid', 'suspend-ram'];

/** 8.x: `VM.Monitor`; 9.x: the command's `VM.GuestAgent.*` privilege or `.Unrestricted` (any). */
function agentPermissions(command: string): (sim: Sim) => Permissions {
  return (sim) => {
    const privs = sim.options.pve.agentPrivileges(command);
    return { check: privs.length === 1 ? ['perm', '/vms/{vmid}', privs] : ['perm', '/vms/{vmid}', privs, { any: true }] };
  };
}

function agentRoute(method: 'GET' | 'POST', command: string): Route {
  return {
    method,
    path: `${vmPath}/agent/${command}`,
    permissions: agentPermissions(command),
    params: base,
    handler: (ctx) =>
      command === 'network-get-interfaces' ? agentNetworkInterfaces(ctx.sim, ctx.node, vmid(ctx)) : agentSimple(ctx.sim, ctx.node, vmid(ctx), command),
  };
}

export const qemuExtraRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: `${vmPath}/feature`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: { ...base, feature: str({ enum: ['snapshot', 'clone', 'copy'] }), snapname: opt(std.snapname) },
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      const snapname = p(ctx.params, 'snapname');
      const section = snapname ? vm.snapshots[snapname] : vm.conf;
      if (!section) fail(`snapshot '${snapname}' does not exist`);
      const feature = req(ctx.params, 'feature') as 'snapshot' | 'clone' | 'copy';
      let has = true;
      for (const { drive } of drivesOf(section)) {
        if (isCdrom(drive) || drive.file === 'none') continue;
        const { cfg, parsed } = parseVolid(ctx.sim, drive.file);
        if (!volumeHasFeature(cfg, parsed, feature, !!snapname)) has = false;
      }
      const nodes = has ? Object.keys(ctx.sim.state.nodes).filter((n) => n === ctx.node) : [];
      return { hasFeature: has ? 1 : 0, nodes };
    },
  },
  {
    method: 'GET',
    path: `${vmPath}/snapshot`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: base,
    handler: (ctx) => listSnapshots(ctx.sim, ctx.node, vmid(ctx)),
  },
  {
    method: 'POST',
    path: `${vmPath}/snapshot`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Snapshot']] },
    params: { ...base, snapname: std.snapname, vmstate: opt(bool()), description: opt(str()) },
    handler: (ctx) => {
      if (pBool(ctx.params, 'vmstate')) ctx.sim.access.checkVm(ctx.principal, vmid(ctx), undefined, ['VM.Config.Disk']);
      return createSnapshot(ctx.sim, ctx.principal, ctx.node, vmid(ctx), req(ctx.params, 'snapname'), pBool(ctx.params, 'vmstate') ?? false, p(ctx.params, 'description'));
    },
  },
  {
    method: 'GET',
    path: `${vmPath}/snapshot/{snapname}`,
    permissions: { user: 'all' },
    params: { ...base, snapname: std.snapname },
    handler: () => [{ rel: 'child', href: 'config' }, { rel: 'child', href: 'rollback' }].map((x) => ({ ...x })),
  },
  {
    method: 'GET',
    path: `${vmPath}/snapshot/{snapname}/config`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: { ...base, snapname: std.snapname },
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      const snap = vm.snapshots[req(ctx.params, 'snapname')];
      if (!snap) fail(`snapshot '${req(ctx.params, 'snapname')}' does not exist`);
      return configJson(snap);
    },
  },
  {
    method: 'PUT',
    path: `${vmPath}/snapshot/{snapname}/config`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Snapshot']] },
    params: { ...base, snapname: std.snapname, description: opt(str()) },
    handler: async (ctx) => {
      await ctx.sim.withConfigLock(vmid(ctx), async () => {
        const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
        const name = req(ctx.params, 'snapname');
        const snap = vm.snapshots[name];
        if (!snap) fail(`snapshot '${name}' does not exist`);
        const d = p(ctx.params, 'description');
        if (d !== undefined) snap['description'] = normaliseDescription(d);
      });
      return null;
    },
  },
  {
    method: 'POST',
    path: `${vmPath}/snapshot/{snapname}/rollback`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Snapshot', 'VM.Snapshot.Rollback'], { any: true }] },
    params: { ...base, snapname: std.snapname, start: opt(bool({ default: 0 })) },
    handler: (ctx) => rollbackSnapshot(ctx.sim, ctx.principal, ctx.node, vmid(ctx), req(ctx.params, 'snapname'), pBool(ctx.params, 'start') ?? false),
  },
  {
    method: 'DELETE',
    path: `${vmPath}/snapshot/{snapname}`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Snapshot']] },
    params: { ...base, snapname: std.snapname, force: opt(bool()) },
    handler: (ctx) => deleteSnapshot(ctx.sim, ctx.principal, ctx.node, vmid(ctx), req(ctx.params, 'snapname'), pBool(ctx.params, 'force') ?? false),
  },
  {
    method: 'GET',
    path: `${vmPath}/agent`,
    // the command index is open to every user on 8.x and 9.x alike
    permissions: { user: 'all' },
    params: base,
    handler: () => [...AGENT_GET, ...AGENT_POST].sort().map((name) => ({ name })),
  },
  {
    method: 'POST',
    path: `${vmPath}/agent`,
    permissions: agentPermissions(''),
    params: { ...base, command: str({ enum: [...AGENT_GET, ...AGENT_POST].sort() }) },
    handler: (ctx) => {
      const command = req(ctx.params, 'command');
      return command === 'network-get-interfaces' ? agentNetworkInterfaces(ctx.sim, ctx.node, vmid(ctx)) : agentSimple(ctx.sim, ctx.node, vmid(ctx), command);
    },
  },
  ...AGENT_GET.map((c) => agentRoute('GET', c)),
  ...AGENT_POST.map((c) => agentRoute('POST', c)),
  {
    method: 'GET',
    path: `${vmPath}/cloudinit/dump`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: { ...base, type: str({ enum: ['user', 'network', 'meta'] }) },
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      // PVE checks the literal path '/vms/{vmid}' here, so only /vms or / grants decide.
      const mask = !ctx.sim.access.has(ctx.principal, '/vms/{vmid}', ['VM.Config.Cloudinit']);
      return dumpCloudinit(vm.conf, vm.vmid, req(ctx.params, 'type') as 'user' | 'network' | 'meta', ctx.sim.options.hostDns, mask);
    },
  },
  {
    method: 'GET',
    path: `${vmPath}/cloudinit`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    params: base,
    handler: (ctx) => {
      const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
      const conf = { ...vm.conf };
      const ci = { ...vm.cloudinit };
      if (conf['cipassword'] !== undefined) conf['cipassword'] = '**********';
      if (ci['cipassword'] !== undefined) ci['cipassword'] = '**********';
      const res: Record<string, unknown>[] = [];
      const added = ci['added'] ?? '';
      delete ci['added'];
      for (const key of added.split(',').filter(Boolean)) res.push({ key, pending: conf[key] });
      // PVE walks only the non-indexed cloud-init options here (no ipconfigN).
      for (const key of CLOUDINIT_KEYS) {
        if (!conf[key]) continue;
        if (added.includes(key)) continue;
        const item: Record<string, unknown> = { key };
        if (ci[key]) {
          item['value'] = ci[key];
          item['pending'] = conf[key];
        } else item['value'] = conf[key];
        res.push(item);
      }
      for (const key of Object.keys(ci)) if (!conf[key]) res.push({ key, delete: 1 });
      return res;
    },
  },
  {
    method: 'PUT',
    path: `${vmPath}/cloudinit`,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Config.Cloudinit']] },
    params: base,
    handler: async (ctx) => {
      await ctx.sim.withConfigLock(vmid(ctx), async () => {
        const vm = loadVm(ctx.sim, ctx.node, vmid(ctx));
        checkLock(vm.conf);
        if (!hasCloudinitDrive(vm.conf)) return;
        vm.cloudinit = {};
      });
      return null;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/vzdump',
    permissions: { user: 'all' },
    params: {
      node: std.node,
      vmid: opt(str({ format: 'pve-vmid-list' })),
      all: opt(bool({ default: 0 })),
      exclude: opt(str({ format: 'pve-vmid-list' })),
      storage: opt(std.storage),
      mode: opt(str({ enum: ['snapshot', 'suspend', 'stop'], default: 'snapshot' })),
      compress: opt(str({ enum: ['0', '1', 'gzip', 'lzo', 'zstd'], default: '0' })),
      zstd: opt(int({ minimum: 0 })),
      'notes-template': opt(str({ maxLength: 1024, requires: 'storage' })),
      protected: opt(bool({ requires: 'storage' })),
      'prune-backups': opt(str()),
      remove: opt(bool({ default: 1 })),
      bwlimit: opt(int({ minimum: 0 })),
      ionice: opt(int({ minimum: 0, maximum: 8 })),
      lockwait: opt(int({ minimum: 0 })),
      stopwait: opt(int({ minimum: 0 })),
      mailto: opt(str()),
      mailnotification: opt(str({ enum: ['always', 'failure'] })),
      'notification-mode': opt(str({ enum: ['auto', 'legacy-sendmail', 'notification-system'] })),
      pool: opt(std.poolid),
      quiet: opt(bool()),
      fleecing: opt(str()),
      performance: opt(str()),
    },
    handler: ({ sim, principal, node, params }) => vzdump(sim, principal, node, params),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/vzdump/extractconfig',
    permissions: { user: 'all' },
    params: { node: std.node, volume: str() },
    handler: async ({ sim, principal, node, params }) => {
      const volume = req(params, 'volume');
      checkVolumeAccess(sim, principal, volume, undefined, 'backup');
      const v = findVolume(sim, node, volume);
      if (!v?.file) fail(`volume '${volume}' does not exist`);
      const content = await readArchive(sim.store.resolve(v.file));
      return content.configFile;
    },
  },
];

