/**
 * Everything the simulator persists, as plain JSON. One document per state directory; the VM
 * config sections mirror PVE's config file (main, [PENDING], [special:cloudinit], snapshots).
 */

/** Raw config values exactly as PVE writes them into `<vmid>.conf`. */
export type ConfigSection = Record<string, string>;

export interface VmRecord {
  readonly vmid: number;
  node: string;
  conf: ConfigSection;
  pending: ConfigSection;
  /** `[special:cloudinit]`: values the current cloud-init image was generated with. */
  cloudinit: ConfigSection;
  snapshots: Record<string, ConfigSection>;
  runtime: VmRuntime;
}

export type VmPowerStatus = 'running' | 'stopped' | 'paused';

export interface VmRuntime {
  status: VmPowerStatus;
  pid?: number;
  /** Epoch ms of the last start. */
  startedAt?: number;
  /** Epoch ms from which the guest agent may answer (boot delay). */
  agentReadyAt?: number;
  /** IPv4 addresses (no prefix) the guest was booted with, for the jump-host resolver. */
  addresses?: string[];
  netin?: number;
  netout?: number;
  /** Epoch ms of the last status change, for the cluster/resources lag window. */
  changedAt?: number;
  /** Epoch ms the VM was created, for the "unknown" window in cluster/resources. */
  createdAt?: number;
}

export interface UserToken {
  privsep: 0 | 1;
  expire: number;
  comment?: string;
  secret: string;
}

export interface UserRecord {
  enable: 0 | 1;
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  /** `sha256$<salt>$<hex>` for pve/pam users with a password. */
  password?: string;
  tokens: Record<string, UserToken>;
}

export interface GroupRecord {
  comment?: string;
  users: string[];
}

export type AclKind = 'user' | 'group' | 'token';

export interface AclEntry {
  path: string;
  kind: AclKind;
  ugid: string;
  roleid: string;
  propagate: 0 | 1;
}

export interface AccessState {
  users: Record<string, UserRecord>;
  groups: Record<string, GroupRecord>;
  /** Custom roles only; built-in roles are computed. */
  roles: Record<string, string[]>;
  acl: AclEntry[];
  ticketSecret: string;
}

export interface PoolRecord {
  comment?: string;
  vms: number[];
  storage: string[];
}

export type StorageType = 'dir' | 'lvmthin';

export interface StorageConfig {
  type: StorageType;
  content: string[];
  path?: string;
  vgname?: string;
  thinpool?: string;
  nodes?: string[];
  disable?: 0 | 1;
  shared?: 0 | 1;
  'prune-backups'?: string;
  /** Simulated capacity in bytes. */
  capacity: number;
}

export type ContentType = 'images' | 'rootdir' | 'vztmpl' | 'iso' | 'backup' | 'snippets' | 'import';

export interface VolumeRecord {
  readonly node: string;
  readonly storage: string;
  /** Volume name without storage (`vm-100-disk-0`, `iso/x.iso`, `100/vm-100-disk-0.qcow2`). */
  volname: string;
  readonly content: ContentType;
  format: string;
  size: number;
  ctime: number;
  vmid?: number;
  /** Base volume of a linked clone (`base-9000-disk-0`). */
  parent?: string;
  notes?: string;
  protected?: 0 | 1;
  /** Disk images: the size a guest sees (qcow2 header), which `import-from` gives the new disk. */
  virtualSize?: number;
  /** Relative path under the state dir when real bytes exist (downloads, backups, snippets). */
  file?: string;
  /** Disk images: the file name of the image it was imported from, carried by clones (guest release). */
  origin?: string;
}

export interface NetworkIface {
  iface: string;
  type: 'bridge' | 'eth' | 'vlan' | 'bond';
  autostart: 0 | 1;
  method: string;
  method6: string;
  families: string[];
  address?: string;
  netmask?: string;
  cidr?: string;
  gateway?: string;
  bridge_ports?: string;
  bridge_stp?: string;
  bridge_fd?: string;
  bridge_vlan_aware?: 0 | 1;
  comments?: string;
}

export interface NodeRecord {
  readonly name: string;
  down: boolean;
  cpus: number;
  memory: number;
  rootfs: number;
  bootedAt: number;
  network: NetworkIface[];
  /** `/etc/network/interfaces.new`: changes not applied yet. */
  pendingNetwork?: NetworkIface[];
}

export interface TaskRecord {
  readonly upid: string;
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly type: string;
  readonly id: string;
  readonly user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

export interface ClusterState {
  readonly formatVersion: 1;
  nodes: Record<string, NodeRecord>;
  access: AccessState;
  storage: Record<string, StorageConfig>;
  volumes: VolumeRecord[];
  vms: Record<string, VmRecord>;
  pools: Record<string, PoolRecord>;
  tasks: TaskRecord[];
  counters: { pid: number; pstart: number };
}
