import type { Route } from '../http/_router.js';
import { fail, paramError } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import type { NetworkIface, NodeRecord } from '../state/model.js';
import { HOST_BASE_MEMORY, nodeRecord, usedMemory } from '../engine/nodes.js';
import { versionInfo } from './cluster.js';

export function nodeUptime(sim: Sim, node: NodeRecord): number {
  return node.down ? 0 : Math.max(0, Math.floor((sim.now() - node.bootedAt) / 1000));
}

/** A `/nodes` row; stats only with `Sys.Audit` on the node. */
export function nodeRow(sim: Sim, name: string, principal: string): Record<string, unknown> {
  const node = sim.state.nodes[name]!;
  const row: Record<string, unknown> = {
    node: name,
    status: node.down ? 'offline' : 'online',
    id: `node/${name}`,
    type: 'node',
    level: '',
    ssl_fingerprint: sim.fingerprint,
  };
  if (!node.down && sim.access.has(principal, `/nodes/${name}`, ['Sys.Audit'])) {
    const mem = HOST_BASE_MEMORY + usedMemory(sim, name);
    Object.assign(row, {
      cpu: 0.0123,
      maxcpu: node.cpus,
      mem,
      maxmem: node.memory,
      disk: Math.floor(node.rootfs * 0.12),
      maxdisk: node.rootfs,
      uptime: nodeUptime(sim, node),
    });
  }
  return row;
}

function networkView(node: NodeRecord): NetworkIface[] {
  return node.pendingNetwork ?? node.network;
}

function renderInterfaces(ifaces: readonly NetworkIface[]): string {
  const lines = ['auto lo', 'iface lo inet loopback', ''];
  for (const i of [...ifaces].sort((a, b) => (a.iface < b.iface ? -1 : 1))) {
    if (i.autostart) lines.push(`auto ${i.iface}`);
    lines.push(`iface ${i.iface} inet ${i.method}`);
    if (i.cidr) lines.push(`\taddress ${i.cidr}`);
    if (i.gateway) lines.push(`\tgateway ${i.gateway}`);
    if (i.type === 'bridge') {
      lines.push(`\tbridge-ports ${i.bridge_ports || 'none'}`, `\tbridge-stp ${i.bridge_stp ?? 'off'}`, `\tbridge-fd ${i.bridge_fd ?? '0'}`);
      if (i.bridge_vlan_aware) lines.push('\tbridge-vlan-aware yes', '\tbridge-vids 2-4094');
    }
    if (i.comments) lines.push(`#${i.comments}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** A minimal unified diff of the interfaces file, as the `changes` attribute carries. */
function interfacesDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const out = ['--- /etc/network/interfaces', '+++ /etc/network/interfaces.new'];
  for (const l of a) if (!b.includes(l)) out.push(`-${l}`);
  for (const l of b) if (!a.includes(l)) out.push(`+${l}`);
  return `${out.join('\n')}\n`;
}

function ifaceJson(i: NetworkIface, active: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = { ...i, priority: 3 };
  if (active) {
    row['active'] = 1;
    row['exists'] = 1;
  }
  return row;
}

const IFACE_TYPES = ['bridge', 'bond', 'eth', 'alias', 'vlan', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet', 'any_bridge', 'any_local_bridge'] as const;

const ifaceParams = {
  node: std.node,
  iface: str({ format: 'pve-iface', minLength: 2, maxLength: 20 }),
  autostart: opt(bool()),
  bridge_ports: opt(str()),
  bridge_vlan_aware: opt(bool()),
  cidr: opt(str({ format: 'CIDRv4' })),
  address: opt(str({ format: 'ipv4' })),
  netmask: opt(str()),
  gateway: opt(str({ format: 'ipv4' })),
  comments: opt(str()),
  mtu: opt(int({ minimum: 1280, maximum: 65520 })),
} as const;

function applyIfaceParams(target: NetworkIface, params: Parameters<Route['handler']>[0]['params']): void {
  const cidr = p(params, 'cidr');
  const address = p(params, 'address');
  const netmask = p(params, 'netmask');
  if (cidr) {
    const [a, m] = cidr.split('/');
    target.cidr = cidr;
    target.address = a!;
    target.netmask = m!;
    target.method = 'static';
  } else if (address) {
    if (!netmask) paramError({ netmask: 'parameter is required' });
    target.address = address;
    target.netmask = netmask;
    target.cidr = `${address}/${netmask}`;
    target.method = 'static';
  }
  const gw = p(params, 'gateway');
  if (gw !== undefined) target.gateway = gw;
  if (p(params, 'autostart') !== undefined) target.autostart = pBool(params, 'autostart') ? 1 : 0;
  if (p(params, 'bridge_ports') !== undefined) target.bridge_ports = p(params, 'bridge_ports')!;
  if (p(params, 'bridge_vlan_aware') !== undefined) target.bridge_vlan_aware = pBool(params, 'bridge_vlan_aware') ? 1 : 0;
  if (p(params, 'comments') !== undefined) target.comments = p(params, 'comments')!;
}

function pendingCopy(node: NodeRecord): NetworkIface[] {
  node.pendingNetwork ??= node.network.map((i) => ({ ...i, families: [...i.families] }));
  return node.pendingNetwork;
}

export const nodeRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes',
    permissions: { user: 'all' },
    handler: ({ sim, principal }) => Object.keys(sim.state.nodes).map((n) => nodeRow(sim, n, principal)),
  },
  {
    method: 'GET',
    path: '/nodes/{node}',
    permissions: { user: 'all' },
    params: { node: std.node },
    handler: () =>
      ['qemu', 'storage', 'tasks', 'network', 'status', 'version', 'vzdump', 'query-url-metadata'].map((name) => ({ name })),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/version',
    permissions: { user: 'all' },
    params: { node: std.node },
    handler: ({ sim }) => versionInfo(sim),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/status',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Audit']] },
    params: { node: std.node },
    handler: ({ sim, node }) => {
      const rec = nodeRecord(sim, node);
      const used = HOST_BASE_MEMORY + usedMemory(sim, node);
      const rootUsed = Math.floor(rec.rootfs * 0.12);
      return {
        cpu: 0.0123,
        wait: 0.0004,
        idle: 0,
        uptime: nodeUptime(sim, rec),
        loadavg: ['0.12', '0.08', '0.05'],
        kversion: `Linux ${sim.options.pve.kernel.release} ${sim.options.pve.kernel.version}`,
        'current-kernel': { sysname: 'Linux', release: sim.options.pve.kernel.release, version: sim.options.pve.kernel.version, machine: 'x86_64' },
        'boot-info': { mode: 'efi', secureboot: 0 },
        cpuinfo: { cpus: rec.cpus, cores: rec.cpus / 2, sockets: 1, model: 'Simulated CPU @ 3.00GHz', mhz: '3000.000', hvm: '1', user_hz: 100, flags: 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov sse sse2 ssse3 sse4_1 sse4_2 avx avx2 aes' },
        memory: { total: rec.memory, used, free: rec.memory - used },
        swap: { total: 8 * 1024 ** 3, used: 0, free: 8 * 1024 ** 3 },
        ksm: { shared: 0 },
        rootfs: { total: rec.rootfs, used: rootUsed, avail: rec.rootfs - rootUsed, free: rec.rootfs - rootUsed },
        pveversion: `pve-manager/${sim.options.compat.version}/${sim.options.pve.repoid}`,
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network',
    permissions: { user: 'all' },
    params: { node: std.node, type: opt(str({ enum: IFACE_TYPES })) },
    handler: ({ sim, node, principal, params, attrs }) => {
      const rec = nodeRecord(sim, node);
      const type = p(params, 'type');
      const rows = networkView(rec)
        .filter((i) => {
          if (!type) return true;
          if (type === 'any_bridge' || type === 'any_local_bridge') return i.type === 'bridge';
          return i.type === type;
        })
        .filter((i) => i.type !== 'bridge' || sim.access.has(principal, `/sdn/zones/localnetwork/${i.iface}`, ['SDN.Audit', 'SDN.Use'], true) || sim.access.has(principal, `/nodes/${node}`, ['Sys.Audit']))
        .map((i) => ifaceJson(i, rec.network.some((a) => a.iface === i.iface)));
      if (rec.pendingNetwork) attrs.changes = interfacesDiff(renderInterfaces(rec.network), renderInterfaces(rec.pendingNetwork));
      return rows;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Modify']] },
    params: { ...ifaceParams, type: str({ enum: ['bridge', 'bond', 'eth', 'alias', 'vlan', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet'] }) },
    handler: ({ sim, node, params }) => {
      const rec = nodeRecord(sim, node);
      const iface = req(params, 'iface');
      const list = pendingCopy(rec);
      if (list.some((i) => i.iface === iface)) paramError({ iface: 'interface already exists' });
      const type = req(params, 'type');
      if (type !== 'bridge' && type !== 'eth' && type !== 'vlan' && type !== 'bond') fail(`interface type '${type}' is not supported by the simulator`);
      const created: NetworkIface = { iface, type, autostart: 0, method: 'manual', method6: 'manual', families: ['inet'] };
      if (type === 'bridge') Object.assign(created, { bridge_stp: 'off', bridge_fd: '0', bridge_ports: '' });
      applyIfaceParams(created, params);
      list.push(created);
      return null;
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Modify']] },
    params: { node: std.node },
    handler: ({ sim, node, principal }) => {
      const rec = nodeRecord(sim, node);
      return sim.tasks.start({
        node,
        type: 'srvreload',
        id: 'networking',
        user: principal,
        work: async (t) => {
          if (rec.pendingNetwork) {
            rec.network = rec.pendingNetwork;
            delete rec.pendingNetwork;
          }
          t.log('reloading network config');
        },
      });
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/network',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Modify']] },
    params: { node: std.node },
    handler: ({ sim, node }) => {
      delete nodeRecord(sim, node).pendingNetwork;
      return null;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/{iface}',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Audit']] },
    params: { node: std.node, iface: str({ format: 'pve-iface' }) },
    handler: ({ sim, node, params }) => {
      const rec = nodeRecord(sim, node);
      const i = networkView(rec).find((x) => x.iface === req(params, 'iface'));
      if (!i) paramError({ iface: 'interface does not exist' });
      return ifaceJson(i, rec.network.some((a) => a.iface === i.iface));
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network/{iface}',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Modify']] },
    params: { ...ifaceParams, type: str({ enum: IFACE_TYPES }), delete: opt(str({ format: 'pve-configid-list' })) },
    handler: ({ sim, node, params }) => {
      const rec = nodeRecord(sim, node);
      const i = pendingCopy(rec).find((x) => x.iface === req(params, 'iface'));
      if (!i) paramError({ iface: 'interface does not exist' });
      for (const k of (p(params, 'delete') ?? '').split(/[,; ]+/).filter(Boolean)) delete (i as unknown as Record<string, unknown>)[k];
      applyIfaceParams(i, params);
      return null;
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/network/{iface}',
    permissions: { check: ['perm', '/nodes/{node}', ['Sys.Modify']] },
    params: { node: std.node, iface: str({ format: 'pve-iface' }) },
    handler: ({ sim, node, params }) => {
      const rec = nodeRecord(sim, node);
      const list = pendingCopy(rec);
      const idx = list.findIndex((x) => x.iface === req(params, 'iface'));
      if (idx < 0) paramError({ iface: 'interface does not exist' });
      list.splice(idx, 1);
      return null;
    },
  },
];

/** Bridges a VM NIC can use on a node (applied config). */
export function bridgeExists(sim: Sim, node: string, bridge: string): boolean {
  return sim.state.nodes[node]?.network.some((i) => i.iface === bridge && i.type === 'bridge') ?? false;
}
