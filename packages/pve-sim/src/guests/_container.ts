import { LabError } from '@lab/core';
import type { CloudInitSeed, GuestNic, GuestSpec } from './backend.js';

/**
 * Pure pieces of the Docker backend: how a guest's container, labels, images and seed files are
 * named and shaped. Kept apart from the IO so they are unit-tested without an engine.
 */

export const LABEL_INSTANCE = 'lab.pve-sim.instance';
export const LABEL_NODE = 'lab.pve-sim.node';
export const LABEL_VMID = 'lab.pve-sim.vmid';
export const LABEL_OWNER_PID = 'lab.pve-sim.owner-pid';
export const LABEL_ROLE = 'lab.pve-sim.role';

/**
 * Images the backend keeps per guest. A snapshot is an image; a guest's disk is its container
 * while one exists, else its disk image (left by a rollback or a clone), else the guest image.
 * Tags are `<instance>.<vmid>[.<snapshot>]`: neither part may contain a dot, so a prefix
 * names exactly one guest.
 */
export const SNAPSHOT_REPOSITORY = 'lab-sim-snapshot';
export const DISK_REPOSITORY = 'lab-sim-disk';

/** Where the guest image's boot units read what the simulator places before each boot. */
export const SEED_DIR = '/var/lib/cloud/seed/nocloud';
export const NICS_DIR = '/etc/lab-guest';
export const QGA_CALL = '/usr/local/libexec/lab-qga-call';
/** Saves /etc/hostname and /etc/hosts where a committed image keeps them (Docker shadows /etc's). */
export const ETC_SAVE = ['/usr/local/sbin/lab-guest-etc', 'save'] as const;
/** Docker's own NICs inside a guest are renamed to these (see adr/0030). */
export const EGRESS_NIC_PREFIX = 'egress';

const INSTANCE_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;
const SNAPSHOT_RE = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;

export function assertInstance(instance: string): void {
  if (!INSTANCE_RE.test(instance)) {
    throw new LabError({
      code: 'LAB_SIM_GUEST_INSTANCE_INVALID',
      summary: `simulator instance '${instance}' cannot name Docker containers`,
      hint: 'use 1-40 characters of a-z, 0-9 and "-", starting with a letter or digit',
    });
  }
}

export function assertSnapshotName(name: string): void {
  if (!SNAPSHOT_RE.test(name)) {
    throw new LabError({
      code: 'LAB_SIM_SNAPSHOT_NAME_INVALID',
      summary: `snapshot name '${name}' is not a Proxmox snapshot name`,
      hint: 'start with a letter; use letters, digits, "_" and "-", at most 40 characters',
    });
  }
}

export function containerName(instance: string, vmid: number): string {
  return `lab-${instance}-${vmid}`;
}

export function snapshotImage(instance: string, vmid: number, name: string): string {
  return `${SNAPSHOT_REPOSITORY}:${instance}.${vmid}.${name}`;
}

export function diskImage(instance: string, vmid: number): string {
  return `${DISK_REPOSITORY}:${instance}.${vmid}`;
}

/** Whether `tag` (`repo:tag`) is one of this guest's images. */
export function isGuestImage(ref: string, instance: string, vmid: number): boolean {
  const [repo, tag] = ref.split(':');
  if (repo === DISK_REPOSITORY) return tag === `${instance}.${vmid}`;
  return repo === SNAPSHOT_REPOSITORY && (tag ?? '').startsWith(`${instance}.${vmid}.`);
}

/** The instance a backend image belongs to, from its tag. */
export function imageInstance(ref: string): string | undefined {
  const [repo, tag] = ref.split(':');
  if (repo !== DISK_REPOSITORY && repo !== SNAPSHOT_REPOSITORY) return undefined;
  return tag?.split('.')[0];
}

export function guestLabels(instance: string, node: string, vmid: number, ownerPid: number): Record<string, string> {
  return {
    [LABEL_INSTANCE]: instance,
    [LABEL_NODE]: node,
    [LABEL_VMID]: String(vmid),
    [LABEL_OWNER_PID]: String(ownerPid),
  };
}

export interface CreateArgsInput {
  readonly name: string;
  readonly image: string;
  readonly labels: Record<string, string>;
  readonly publish: readonly number[];
}

/**
 * `docker create` argv for a guest: systemd as PID 1 with the least privilege seen to work on
 * this kind of machine (guest-notes.md; `--privileged` fails here), services published on
 * loopback only, and SIGRTMIN+3 as stop signal so `docker stop` is systemd's clean poweroff.
 */
export function createArgs(input: CreateArgsInput): string[] {
  const args = ['create', '--name', input.name, '--hostname', 'debian'];
  for (const [k, v] of Object.entries(input.labels)) args.push('--label', `${k}=${v}`);
  args.push(
    '--cap-add', 'SYS_ADMIN',
    '--cap-add', 'NET_ADMIN',
    // Docker inside the guest execs (healthchecks, `docker exec`) into containers whose process
    // runs as another user (compose `user:`, e.g. Jellyfin's 2000:2000); runc joins their
    // namespaces, which needs CAP_SYS_PTRACE across users, as on a real VM.
    '--cap-add', 'SYS_PTRACE',
    '--security-opt', 'seccomp=unconfined',
    '--security-opt', 'apparmor=unconfined',
    '--cgroupns=host',
    '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs', '/run',
    '--tmpfs', '/run/lock',
    // Data disks are loop devices whose nodes the guest makes from /etc/lab-guest/disks (adr/0175).
    '--device-cgroup-rule', 'b 7:* rwm',
    '--stop-signal', 'SIGRTMIN+3',
    // Docker turns IPv6 off in containers; a VM's NICs have link-local addresses.
    '--sysctl', 'net.ipv6.conf.all.disable_ipv6=0',
    '--sysctl', 'net.ipv6.conf.default.disable_ipv6=0',
  );
  for (const port of input.publish) args.push('-p', `127.0.0.1::${port}`);
  args.push(input.image, '/sbin/init');
  return args;
}

/** Proxmox's `netN` is the guest's `ethN`. */
export function guestNicName(nic: GuestNic): string {
  const n = /^net(\d+)$/.exec(nic.device)?.[1];
  if (n === undefined) {
    throw new LabError({
      code: 'LAB_SIM_GUEST_NIC_INVALID',
      summary: `NIC device '${nic.device}' is not a Proxmox netN key`,
    });
  }
  return `eth${n}`;
}

/** `/etc/lab-guest/nics`: one `<name> <mac>` line per declared NIC, read by lab-guest-net. */
export function nicsFile(spec: GuestSpec): string {
  const lines = ['# Written by the lab simulator before boot: the VM\'s NICs as Proxmox declares them.'];
  for (const nic of spec.nics) lines.push(`${guestNicName(nic)} ${nic.mac.toLowerCase()}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The NoCloud files to place. All four are always written so a file dropped from the seed does
 * not survive from an earlier boot; cloud-init treats an empty network-config or vendor-data as
 * absent (network: its fallback, DHCP on eth0; vendor-data: none).
 */
export function seedFiles(seed: CloudInitSeed): Record<string, string> {
  return {
    'meta-data': seed.metaData,
    'user-data': seed.userData,
    'network-config': seed.networkConfig ?? '',
    'vendor-data': seed.vendorData ?? '',
  };
}

/** Host port of `port/tcp` from `docker inspect`'s NetworkSettings.Ports, loopback bindings only. */
export function publishedLoopbackPort(
  ports: Record<string, readonly { HostIp?: string; HostPort?: string }[] | null> | null | undefined,
  port: number,
): number | undefined {
  for (const binding of ports?.[`${port}/tcp`] ?? []) {
    if (binding.HostIp === '127.0.0.1' && binding.HostPort) return Number(binding.HostPort);
  }
  return undefined;
}
