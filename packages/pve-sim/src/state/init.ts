import type { NodeSpec } from '../options.js';
import type { ClusterState, NetworkIface, NodeRecord, StorageConfig } from './model.js';
import type { Random } from '../util/_prng.js';
import { GiB } from '../util/_size.js';

/** A fresh node network: one physical port enslaved to a VLAN-aware `vmbr0`, like the installer sets up. */
export function defaultNetwork(index: number): NetworkIface[] {
  const addr = `192.168.100.${10 + index}`;
  return [
    { iface: 'eno1', type: 'eth', autostart: 0, method: 'manual', method6: 'manual', families: ['inet'] },
    {
      iface: 'vmbr0',
      type: 'bridge',
      autostart: 1,
      method: 'static',
      method6: 'manual',
      families: ['inet'],
      address: addr,
      netmask: '24',
      cidr: `${addr}/24`,
      gateway: '192.168.100.1',
      bridge_ports: 'eno1',
      bridge_stp: 'off',
      bridge_fd: '0',
      bridge_vlan_aware: 1,
    },
  ];
}

/** `local` (dir) and `local-lvm` (lvmthin) with the contents of a fresh install. */
export function defaultStorage(): Record<string, StorageConfig> {
  return {
    local: { type: 'dir', path: '/var/lib/vz', content: ['iso', 'vztmpl', 'backup'], capacity: 100 * GiB },
    'local-lvm': { type: 'lvmthin', thinpool: 'data', vgname: 'pve', content: ['rootdir', 'images'], capacity: 400 * GiB },
  };
}

export function newNode(name: string, index: number, now: number, size: { cpus?: number; memory?: number } = {}): NodeRecord {
  return { name, down: false, cpus: size.cpus ?? 16, memory: size.memory ?? 64 * GiB, rootfs: 100 * GiB, bootedAt: now, network: defaultNetwork(index) };
}

export interface InitialSecrets {
  readonly rootPasswordHash: string;
  readonly adminTokenSecret: string;
}

/**
 * The state of a freshly installed cluster: nodes, `root@pam` with a password and the
 * `root@pam!lab-admin` token (privsep=0), default storages, no guests.
 */
export function initialState(nodes: readonly (string | NodeSpec)[], secrets: InitialSecrets, rng: Random, now: number): ClusterState {
  const nodeMap: Record<string, NodeRecord> = {};
  nodes.forEach((n, i) => {
    const spec = typeof n === 'string' ? { name: n } : n;
    nodeMap[spec.name] = newNode(spec.name, i, now, spec);
  });
  return {
    formatVersion: 1,
    nodes: nodeMap,
    access: {
      users: {
        'root@pam': {
          enable: 1,
          expire: 0,
          email: 'root@localhost',
          password: secrets.rootPasswordHash,
          tokens: { 'lab-admin': { privsep: 0, expire: 0, comment: 'lab simulator admin token', secret: secrets.adminTokenSecret } },
        },
      },
      groups: {},
      roles: {},
      acl: [],
      ticketSecret: rng.bytes(32).toString('base64'),
    },
    storage: defaultStorage(),
    volumes: [],
    vms: {},
    pools: {},
    tasks: [],
    counters: { pid: 4000 + rng.int(100000), pstart: 0 },
  };
}
