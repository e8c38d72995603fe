import type { PveVersion } from './version.js';

/** PVE 8's privileges (pve-access-control `$privgroups`, pve-api.md §2.4). */
const PVE8 = [
  'VM.Allocate', 'VM.Clone', 'VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network',
  'VM.Config.HWType', 'VM.Config.Options', 'VM.Migrate', 'VM.Monitor', 'VM.Snapshot', 'VM.Snapshot.Rollback',
  'VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.PowerMgmt', 'VM.Audit',
  'Datastore.Allocate', 'Datastore.AllocateTemplate', 'Datastore.AllocateSpace', 'Datastore.Audit',
  'Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork', 'Sys.Console', 'Sys.Syslog', 'Sys.Audit',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
  'Pool.Allocate', 'Pool.Audit',
  'Mapping.Modify', 'Mapping.Use', 'Mapping.Audit',
  'Permissions.Modify', 'User.Modify', 'Group.Allocate', 'Realm.Allocate', 'Realm.AllocateUser',
] as const;

/** PVE 9 drops `VM.Monitor` for the `VM.GuestAgent.*` family and adds `VM.Replicate`. */
const PVE9_ADDED = [
  'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileWrite',
  'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted', 'VM.Replicate',
] as const;

/** Every privilege name the given release accepts in a role. */
export function pvePrivileges(version: PveVersion): ReadonlySet<string> {
  if (version.major < 9) return new Set(PVE8);
  return new Set([...PVE8.filter((p) => p !== 'VM.Monitor'), ...PVE9_ADDED]);
}
