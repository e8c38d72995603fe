/**
 * PVE 8's privilege catalogue and built-in roles, generated from the same category table
 * PVE uses (admin/user/audit groups per category), so role contents match a real node.
 */
interface PrivGroup {
  readonly root: readonly string[];
  readonly admin: readonly string[];
  readonly user: readonly string[];
  readonly audit: readonly string[];
}

const PRIV_GROUPS: Readonly<Record<string, PrivGroup>> = {
  VM: {
    root: [],
    admin: [
      'VM.Config.Disk',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Network',
      'VM.Config.HWType',
      'VM.Config.Options',
      'VM.Allocate',
      'VM.Clone',
      'VM.Migrate',
      'VM.Monitor',
      'VM.Snapshot',
      'VM.Snapshot.Rollback',
    ],
    user: ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.PowerMgmt'],
    audit: ['VM.Audit'],
  },
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

function build(): { valid: Set<string>; roles: Map<string, Set<string>> } {
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
  for (const [cat, g] of Object.entries(PRIV_GROUPS)) {
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

const BUILT = build();

export const VALID_PRIVILEGES: ReadonlySet<string> = BUILT.valid;

/** Built-in (special) roles, read-only. */
export const BUILTIN_ROLES: ReadonlyMap<string, ReadonlySet<string>> = BUILT.roles;

export function isBuiltinRole(roleid: string): boolean {
  return BUILTIN_ROLES.has(roleid);
}
