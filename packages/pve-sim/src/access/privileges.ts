/**
 * PVE's privilege catalogue and built-in roles per major release, generated from the same
 * category table pve-access-control uses (`$privgroups`: root/admin/user/audit per category), so
 * role contents match a real node of that release. 9.0 (libpve-access-control 9.0.2/9.0.3)
 * dropped `VM.Monitor` for the `VM.GuestAgent.*` family and added `VM.Replicate`.
 */
interface PrivGroup {
  readonly root: readonly string[];
  readonly admin: readonly string[];
  readonly user: readonly string[];
  readonly audit: readonly string[];
}

const VM_8: PrivGroup = {
  root: [],
  admin: ['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.Migrate', 'VM.Monitor', 'VM.Snapshot', 'VM.Snapshot.Rollback'],
  user: ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.PowerMgmt'],
  audit: ['VM.Audit'],
};

const VM_9: PrivGroup = {
  root: [],
  admin: [
    'VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'VM.Allocate', 'VM.Clone',
    'VM.GuestAgent.Unrestricted', 'VM.Migrate', 'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback',
  ],
  user: ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'],
  audit: ['VM.Audit', 'VM.GuestAgent.Audit'],
};

const COMMON: Readonly<Record<string, PrivGroup>> = {
  Sys: {
    root: ['Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'],
    admin: ['Sys.Console', 'Sys.Syslog'],
    user: [],
    audit: ['Sys.Audit'],
  },
  Datastore: {
    root: [],
    admin: ['Datastore.Allocate', 'Datastore.AllocateTemplate'],
    user: ['Datastore.AllocateSpace'],
    audit: ['Datastore.Audit'],
  },
  SDN: { root: [], admin: ['SDN.Allocate', 'SDN.Audit'], user: ['SDN.Use'], audit: ['SDN.Audit'] },
  User: { root: ['Realm.Allocate'], admin: ['User.Modify', 'Group.Allocate', 'Realm.AllocateUser'], user: [], audit: [] },
  Pool: { root: [], admin: ['Pool.Allocate'], user: ['Pool.Audit'], audit: ['Pool.Audit'] },
  Mapping: { root: [], admin: ['Mapping.Modify'], user: ['Mapping.Use'], audit: ['Mapping.Audit'] },
};

export interface PrivilegeCatalogue {
  /** Every privilege a role may hold on this release. */
  readonly valid: ReadonlySet<string>;
  /** Built-in (special) roles, read-only. */
  readonly roles: ReadonlyMap<string, ReadonlySet<string>>;
}

function build(groups: Readonly<Record<string, PrivGroup>>): PrivilegeCatalogue {
  const valid = new Set<string>(['Permissions.Modify']);
  const roles = new Map<string, Set<string>>();
  const role = (name: string): Set<string> => {
    let r = roles.get(name);
    if (!r) {
      r = new Set();
      roles.set(name, r);
    }
    return r;
  };
  role('NoAccess');
  for (const [cat, g] of Object.entries(groups)) {
    for (const p of [...g.root, ...g.admin, ...g.user, ...g.audit]) valid.add(p);
    for (const p of [...g.admin, ...g.user, ...g.audit]) {
      role(`PVE${cat}Admin`).add(p);
      role('PVEAdmin').add(p);
    }
    if (g.user.length > 0) for (const p of [...g.user, ...g.audit]) role(`PVE${cat}User`).add(p);
    for (const p of g.audit) role('PVEAuditor').add(p);
  }
  role('PVEAdmin').delete('Mapping.Modify');
  roles.set('PVETemplateUser', new Set(['VM.Clone', 'VM.Audit']));
  roles.set('Administrator', valid);
  return { valid, roles };
}

const CATALOGUES = new Map<number, PrivilegeCatalogue>([
  [8, build({ VM: VM_8, ...COMMON })],
  [9, build({ VM: VM_9, ...COMMON })],
]);

/** The catalogue of a major release (8 or 9; later majors use the newest known). */
export function privilegeCatalogue(major: number): PrivilegeCatalogue {
  return CATALOGUES.get(major) ?? CATALOGUES.get(major < 8 ? 8 : 9)!;
}
