import type { Site } from '@lab/intent';
import { splitTokenId, type PveFeatures } from '@lab/pve';

/** The lifecycle stages personas declare; each gets its own Proxmox pool. */
export type Stage = 'stable' | 'experimental';
export const STAGES: readonly Stage[] = ['stable', 'experimental'];

/** Token id used in embedded mode, where lab.yaml names none. */
export const DEFAULT_TOKEN_ID = 'lab@pve!lab';
/** Secret name of the token in embedded mode (remote mode uses `proxmox.tokenSecret`). */
export const DEFAULT_TOKEN_SECRET = 'site/pve-token';

/** Who lab acts as on Proxmox, and where its token secret lives. */
export interface LabIdentity {
  /** `lab@pve!lab` */
  readonly tokenId: string;
  /** `lab@pve` */
  readonly userId: string;
  /** `lab` */
  readonly tokenName: string;
  /** Name in the secrets store, e.g. `site/pve-token`. */
  readonly secretName: string;
}

export function labIdentity(site: Site): LabIdentity {
  const tokenId = site.proxmox.mode === 'remote' ? site.proxmox.tokenId : DEFAULT_TOKEN_ID;
  const secretName = site.proxmox.mode === 'remote' ? site.proxmox.tokenSecret.secret : DEFAULT_TOKEN_SECRET;
  // The site schema's pattern is looser than PVE's; fall back to splitting at the last `!`.
  const parts = splitTokenId(tokenId) ?? { user: tokenId.slice(0, tokenId.lastIndexOf('!')), token: tokenId.slice(tokenId.lastIndexOf('!') + 1) };
  return { tokenId, userId: parts.user, tokenName: parts.token, secretName };
}

/** The Proxmox pool VMs of `stage` belong to: `<site>-stable`, `<site>-experimental`. */
export function poolName(site: Site, stage: Stage): string {
  return `${site.name}-${stage}`;
}

/** The roles lab creates, one per kind of ACL path, so no path gets privileges it cannot use. */
export type LabRole = 'LabVM' | 'LabDiskStore' | 'LabDataStore' | 'LabImageStore' | 'LabBackupStore' | 'LabNode' | 'LabNetwork' | 'LabLock' | 'LabStartup' | 'LabDownload';

/**
 * Privileges of each role (pve-api.md §2.4, least privilege for a VM-lifecycle tool). VM
 * privileges are granted on `/vms` and on the lab's pools; datastore roles on the storages
 * that need them; `Sys.*` on the nodes; `SDN.Use` on the bridges.
 */
export function rolePrivileges(role: LabRole, features: PveFeatures): readonly string[] {
  switch (role) {
    case 'LabVM':
      return [
        'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Cloudinit',
        'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options',
        'VM.PowerMgmt', 'VM.Snapshot', 'VM.Snapshot.Rollback', features.guestAgentPrivilege, 'Pool.Audit',
      ].sort();
    case 'LabDiskStore':
      return ['Datastore.AllocateSpace', 'Datastore.Audit'];
    case 'LabDataStore':
      // Persistent data disks are owned by no VM (L2, adr/0087); attaching them needs Allocate.
      return ['Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.Audit'];
    case 'LabStartup':
      // Proxmox guards a VM's `startup` (boot order) with Sys.Modify on / (pve-api.md §2.4).
      return ['Sys.Modify'];
    case 'LabLock':
      // L2 holds a per-persona lock as a pool `lab-lock-<persona>` (adr/0088).
      return ['Pool.Allocate', 'Pool.Audit'];
    case 'LabImageStore':
      return ['Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit'];
    case 'LabBackupStore':
      // Pruning old backups (`prune-backups`) needs Datastore.Allocate.
      return ['Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.Audit'];
    case 'LabNode':
      return features.downloadWithAccessNetwork ? ['Sys.AccessNetwork', 'Sys.Audit'] : ['Sys.Audit'];
    case 'LabNetwork':
      return ['SDN.Use'];
    case 'LabDownload':
      // Before PVE 8.1 download-url needs Sys.Audit + Sys.Modify on `/` (granted without propagation).
      return ['Sys.Audit', 'Sys.Modify'];
  }
}
