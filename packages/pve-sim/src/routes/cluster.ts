import type { Route } from '../http/_router.js';
import { paramError } from '../http/_errors.js';
import { opt, std, str } from '../schema/std.js';
import { p, pInt } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import { broadcastStatus, vmStatus } from '../qemu/status.js';
import { nodeRow } from './nodes.js';
import { storageRow } from './node-storage.js';
import { storageAvailableOn } from '../storage/volumes.js';

export function versionInfo(sim: Sim): Record<string, string> {
  const version = sim.options.compat.version;
  return { version, release: version.split('.').slice(0, 2).join('.'), repoid: sim.options.pve.repoid };
}

function vmResource(sim: Sim, vmid: string, principal: string): Record<string, unknown> | undefined {
  const vm = sim.state.vms[vmid]!;
  if (!sim.access.has(principal, `/vms/${vmid}`, ['VM.Audit'])) return undefined;
  // pvestatd of an offline node sends nothing: its VMs read `unknown`, without figures
  const status = sim.state.nodes[vm.node]?.down ? 'unknown' : broadcastStatus(sim, vm);
  const row: Record<string, unknown> = { id: `qemu/${vmid}`, type: 'qemu', vmid: vm.vmid, node: vm.node, status };
  if (status !== 'unknown') {
    const s = vmStatus(sim, vm, true);
    Object.assign(row, {
      name: s['name'],
      template: vm.conf['template'] === '1' ? 1 : 0,
      maxcpu: s['cpus'],
      cpu: status === 'running' ? s['cpu'] : 0,
      maxmem: s['maxmem'],
      mem: status === 'running' ? s['mem'] : 0,
      maxdisk: s['maxdisk'],
      disk: 0,
      netin: s['netin'],
      netout: s['netout'],
      // pvestatd sends 0 for a stopped VM (no QMP blockstats to ask)
      diskread: status === 'running' ? (s['diskread'] ?? 0) : 0,
      diskwrite: status === 'running' ? (s['diskwrite'] ?? 0) : 0,
      uptime: status === 'running' ? s['uptime'] : 0,
    });
  }
  if (vm.conf['tags'] !== undefined) row['tags'] = vm.conf['tags'];
  if (vm.conf['lock'] !== undefined) row['lock'] = vm.conf['lock'];
  const pool = Object.entries(sim.state.pools).find(([, pr]) => pr.vms.includes(vm.vmid))?.[0];
  if (pool) row['pool'] = pool;
  return row;
}

export function clusterResources(sim: Sim, principal: string, type: string | undefined): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  if (!type || type === 'vm') {
    for (const vmid of Object.keys(sim.state.vms).sort()) {
      const row = vmResource(sim, vmid, principal);
      if (row) rows.push(row);
    }
  }
  if (!type || type === 'node') {
    for (const name of Object.keys(sim.state.nodes)) {
      const row = nodeRow(sim, name, principal);
      rows.push({ ...row, 'cgroup-mode': 2 });
    }
  }
  if (!type || type === 'storage') {
    for (const [id, cfg] of Object.entries(sim.state.storage)) {
      if (!sim.access.has(principal, `/storage/${id}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true)) continue;
      for (const node of Object.keys(sim.state.nodes)) {
        if (!storageAvailableOn(cfg, node)) continue;
        const s = storageRow(sim, node, id);
        const down = sim.state.nodes[node]!.down;
        rows.push({
          id: `storage/${node}/${id}`,
          type: 'storage',
          storage: id,
          node,
          plugintype: cfg.type,
          status: down ? 'unknown' : 'available',
          shared: cfg.shared ? 1 : 0,
          content: cfg.content.join(','),
          disk: s['used'],
          maxdisk: s['total'],
        });
      }
    }
  }
  // 9.1 nodes broadcast `network` status instead, so their `sdn` rows are suppressed; the
  // `network` rows (no `type` filter selects them) carry the default localnetwork zone.
  if ((!type || type === 'sdn') && !sim.options.pve.networkResources) {
    for (const node of Object.keys(sim.state.nodes)) {
      if (!sim.access.has(principal, '/sdn/zones/localnetwork', ['SDN.Audit', 'SDN.Use'], true)) continue;
      rows.push({ id: `sdn/${node}/localnetwork`, type: 'sdn', sdn: 'localnetwork', node, status: 'ok' });
    }
  }
  if (!type && sim.options.pve.networkResources && sim.access.has(principal, '/sdn/zones/localnetwork', ['SDN.Audit'])) {
    for (const node of Object.keys(sim.state.nodes)) {
      rows.push({ id: `network/${node}/zone/localnetwork`, type: 'network', 'network-type': 'zone', network: 'localnetwork', node, status: 'ok' });
    }
  }
  if (!type) {
    for (const [poolid, pool] of Object.entries(sim.state.pools)) {
      if (!sim.access.has(principal, `/pool/${poolid}`, ['Pool.Audit'])) continue;
      rows.push({ id: `/pool/${poolid}`, type: 'pool', pool: poolid, ...(pool.comment ? { comment: pool.comment } : {}) });
    }
  }
  return rows;
}

export const clusterRoutes: readonly Route[] = [
  { method: 'GET', path: '/version', permissions: { user: 'all' }, handler: ({ sim }) => versionInfo(sim) },
  {
    method: 'GET',
    path: '/',
    permissions: { user: 'all' },
    handler: () => ['version', 'cluster', 'nodes', 'storage', 'access', 'pools'].map((subdir) => ({ subdir })),
  },
  {
    method: 'GET',
    path: '/cluster',
    permissions: { user: 'all' },
    handler: () => ['log', 'options', 'resources', 'tasks', 'nextid', 'status'].map((name) => ({ name })),
  },
  {
    method: 'GET',
    path: '/cluster/nextid',
    permissions: { user: 'all' },
    params: { vmid: opt(std.vmid) },
    handler: ({ sim, params }) => {
      const wanted = pInt(params, 'vmid');
      if (wanted !== undefined) {
        if (sim.vm(wanted)) paramError({ vmid: `VM ${wanted} already exists` });
        return String(wanted);
      }
      for (let id = 100; id < 1_000_000; id++) if (!sim.vm(id)) return String(id);
      paramError({ vmid: 'unable to get any free VMID in range [100, 1000000)' });
    },
  },
  {
    method: 'GET',
    path: '/cluster/options',
    permissions: { user: 'all' },
    handler: () => ({}),
  },
  {
    method: 'GET',
    path: '/cluster/resources',
    permissions: { user: 'all' },
    params: { type: opt(str({ enum: ['vm', 'storage', 'node', 'sdn'] })) },
    handler: ({ sim, principal, params }) => clusterResources(sim, principal, p(params, 'type')),
  },
  {
    method: 'GET',
    path: '/cluster/status',
    permissions: { check: ['perm', '/', ['Sys.Audit']] },
    handler: ({ sim }) => {
      const names = Object.keys(sim.state.nodes);
      const rows: Record<string, unknown>[] = [];
      if (names.length > 1) {
        const online = names.filter((n) => !sim.state.nodes[n]!.down).length;
        rows.push({ type: 'cluster', id: 'cluster', name: 'lab', nodes: names.length, quorate: online * 2 > names.length ? 1 : 0, version: names.length });
      }
      names.forEach((n, i) =>
        rows.push({
          type: 'node',
          id: `node/${n}`,
          name: n,
          nodeid: i + 1,
          ip: `192.168.100.${10 + i}`,
          local: n === sim.localNode ? 1 : 0,
          online: sim.state.nodes[n]!.down ? 0 : 1,
          level: '',
        }),
      );
      return rows;
    },
  },
  {
    method: 'GET',
    path: '/cluster/tasks',
    permissions: { user: 'all' },
    handler: ({ sim, principal }) =>
      sim.state.tasks
        .filter((t) => t.user === principal || t.user.startsWith(`${principal}!`) || sim.access.has(principal, `/nodes/${t.node}`, ['Sys.Audit']))
        .slice(-50)
        .reverse()
        .map((t) => ({
          upid: t.upid,
          node: t.node,
          pid: t.pid,
          pstart: t.pstart,
          starttime: t.starttime,
          type: t.type,
          id: t.id,
          user: t.user,
          ...(t.status === 'stopped' ? { endtime: t.endtime, status: t.exitstatus } : {}),
        })),
  },
];
