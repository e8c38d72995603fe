/**
 * The contract between the simulator's VM engine and whatever runs guests.
 *
 * The VM engine owns Proxmox semantics (config, locks, tasks, cloud-init text); a backend only
 * makes a VM's guest exist and behave: `docker` runs a real Debian container booting systemd,
 * `none` keeps records only. Backends never see Proxmox config syntax — the engine hands them
 * already-rendered cloud-init seed files and already-parsed NICs.
 */

/** NoCloud seed files exactly as Proxmox would render them for this VM (see pve-api.md §5.4 dump). */
export interface CloudInitSeed {
  readonly metaData: string;
  readonly userData: string;
  /** Omitted when the VM has no ipconfigN; Proxmox then emits a DHCP default. */
  readonly networkConfig?: string;
  readonly vendorData?: string;
}

export interface GuestNic {
  /** Proxmox device key, e.g. `net0`. The guest sees it as `eth<N>`. */
  readonly device: string;
  /** Upper-case MAC as in the config, e.g. `BC:24:11:AA:BB:CC`. */
  readonly mac: string;
  readonly bridge: string;
  readonly vlan?: number;
  /** Declared static address `10.20.0.10/24`, or `dhcp`, or absent. */
  readonly address?: string;
  readonly gateway?: string;
}

/**
 * A data disk (any disk but the boot disk): real bytes in a sparse raw file that the guest sees
 * as a block device of the VM's bus (adr/0175). The boot disk is the container itself.
 */
export interface GuestDisk {
  /** Proxmox drive key, e.g. `scsi1`. */
  readonly device: string;
  /** Absolute path of the volume's raw data file on this machine. */
  readonly file: string;
  readonly bytes: number;
}

export interface GuestSpec {
  readonly node: string;
  readonly vmid: number;
  readonly name: string;
  readonly nics: readonly GuestNic[];
  /** Boot disk size in bytes (informational; a container has no real block device). */
  readonly bootDiskBytes?: number;
  /** Drive key of the boot disk (the container's root), which names the data disks after it. */
  readonly bootDevice?: string;
  /**
   * Debian release of the image the boot disk came from (`bookworm`, `trixie`), when known; the
   * Docker backend boots that release's guest image.
   */
  readonly release?: string;
  /** Data disks in drive order; absent or empty when the VM has none. */
  readonly disks?: readonly GuestDisk[];
  readonly cloudInit?: CloudInitSeed;
  /** Whether the QEMU guest agent is enabled in the VM config (`agent: 1`). */
  readonly agent: boolean;
}

export type GuestPowerState = 'running' | 'stopped';

/** What `network-get-interfaces` returns, in the agent's own JSON shape. */
export interface AgentInterface {
  readonly name: string;
  readonly 'hardware-address': string;
  readonly 'ip-addresses': readonly {
    readonly 'ip-address-type': 'ipv4' | 'ipv6';
    readonly 'ip-address': string;
    readonly prefix: number;
  }[];
  readonly statistics?: Record<string, number>;
}

/** Where the jump host should forward a `direct-tcpip` request for this guest's port. */
export interface LoopbackEndpoint {
  readonly host: '127.0.0.1';
  readonly port: number;
}

export interface GuestBackend {
  readonly kind: 'docker' | 'none';
  /** Boot the guest (create its container on first start). Re-seeds cloud-init if the seed changed. */
  start(spec: GuestSpec): Promise<void>;
  /** Hard stop (power off). Idempotent. */
  stop(vmid: number): Promise<void>;
  /** Clean shutdown through the guest's init; falls back to stop after `timeoutMs`. */
  shutdown(vmid: number, timeoutMs: number): Promise<void>;
  reboot(vmid: number): Promise<void>;
  /** Remove the guest and everything it stored. Idempotent. */
  destroy(vmid: number): Promise<void>;
  state(vmid: number): Promise<GuestPowerState>;
  /** Snapshot the guest's filesystem under `name`; rollback restores it; delete forgets it. */
  snapshot(vmid: number, name: string): Promise<void>;
  rollback(vmid: number, name: string): Promise<void>;
  deleteSnapshot(vmid: number, name: string): Promise<void>;
  /** Clone a stopped guest's filesystem into a new vmid (for full clones of templates made from guests). */
  cloneFilesystem?(sourceVmid: number, targetVmid: number): Promise<void>;
  /** Write the guest's cached data to its disks, so a copy of their files is consistent. */
  flush?(vmid: number): Promise<void>;
  /** Whether the guest agent answers (false during boot or when agent is disabled). */
  agentPing(vmid: number): Promise<boolean>;
  agentNetworkInterfaces(vmid: number): Promise<readonly AgentInterface[]>;
  /** Loopback endpoint of the guest's `port` (22 for sshd), or undefined when not running. */
  endpoint(vmid: number, port: number): Promise<LoopbackEndpoint | undefined>;
  /**
   * When a guest this backend started has stopped on its own (its container exited): the error
   * that says so, with the exit code and its last log lines. Waiters call it between probes so a
   * dead guest fails at once instead of at their deadline.
   */
  exited?(vmid: number): Promise<import('@lab/core').LabError | undefined>;
  /** Stop all guests this backend started (simulator shutdown in tests). */
  close(): Promise<void>;
}
