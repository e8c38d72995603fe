import type { AccessState, PoolRecord } from '../state/model.js';
import type { PrivilegeCatalogue } from './privileges.js';
import { permError } from '../http/_errors.js';
import { TOKENID_RE } from '../schema/_formats.js';

export const ROOT = 'root@pam';

/** Roles on one path, role → propagate flag. */
type RoleMap = Map<string, boolean>;
/** Privileges on one path, privilege → propagate flag. */
export type PrivMap = Map<string, boolean>;

export function splitTokenId(principal: string): { user: string; token?: string } {
  const m = TOKENID_RE.exec(principal);
  return m ? { user: m[1]!, token: m[2]! } : { user: principal };
}

export function normalizePath(p: string): string {
  let path = `/${p}`.replace(/\/+/g, '/');
  if (path.length > 1) path = path.replace(/\/$/, '');
  return path;
}

/**
 * PVE's ACL evaluation (`AccessControl::roles` + `RPCEnvironment::permissions`): walking the
 * path from `/`, a more specific level replaces what came before; at each level token entries
 * beat user entries beat group entries; non-propagating entries count only on the exact path;
 * `NoAccess` wins; pool ACLs apply to member VMs/storages; a privsep token gets the
 * intersection with its user; `root@pam` (but not its tokens) holds everything.
 */
export class AccessControl {
  constructor(
    private readonly access: AccessState,
    private readonly pools: () => Readonly<Record<string, PoolRecord>>,
    readonly catalogue: PrivilegeCatalogue,
  ) {}

  /**
   * A role's privileges. A custom role keeps only what this release knows: PVE's user.cfg parser
   * ignores invalid privileges (`ignore invalid privilege`), so an 8.x role with `VM.Monitor`
   * reads without it on 9.x.
   */
  rolePrivs(roleid: string): ReadonlySet<string> | undefined {
    const builtin = this.catalogue.roles.get(roleid);
    if (builtin) return builtin;
    const custom = this.access.roles[roleid];
    return custom ? new Set(custom.filter((p) => this.catalogue.valid.has(p))) : undefined;
  }

  private roles(principal: string, path: string): RoleMap {
    if (principal === ROOT) return new Map([['Administrator', true]]);
    const { user, token } = splitTokenId(principal);
    if (token !== undefined) {
      const info = this.access.users[user]?.tokens[token];
      if (!info) return new Map();
      if (!info.privsep) return this.roles(user, path);
    }
    const parts = path === '/' ? [''] : path.split('/');
    let roles: RoleMap = new Map();
    let current = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const final = i === parts.length - 1;
      current = p === '' ? current : `${current}/${p}`;
      const here = current === '' ? '/' : current;
      const entries = this.access.acl.filter((e) => e.path === here);
      if (entries.length === 0) continue;
      const pick = (match: (e: (typeof entries)[number]) => boolean): RoleMap | undefined => {
        let next: RoleMap | undefined;
        for (const e of entries) {
          if (!match(e)) continue;
          if (final || e.propagate) {
            next ??= new Map();
            next.set(e.roleid, !!e.propagate);
          }
        }
        return next;
      };
      const fromToken = token !== undefined ? pick((e) => e.kind === 'token' && e.ugid === principal) : undefined;
      if (fromToken) {
        roles = fromToken;
        continue;
      }
      const fromUser = token === undefined ? pick((e) => e.kind === 'user' && e.ugid === principal) : undefined;
      if (fromUser) {
        roles = fromUser;
        continue;
      }
      if (token === undefined) {
        const fromGroups = pick((e) => e.kind === 'group' && (this.access.groups[e.ugid]?.users.includes(principal) ?? false));
        if (fromGroups) roles = fromGroups;
      }
    }
    if (roles.has('NoAccess')) return new Map([['NoAccess', roles.get('NoAccess')!]]);
    return roles;
  }

  private poolRoles(principal: string, path: string): RoleMap | undefined {
    let found: RoleMap | undefined;
    for (const [poolid, pool] of Object.entries(this.pools())) {
      const member =
        pool.vms.some((v) => path === `/vms/${v}`) || pool.storage.some((s) => path === `/storage/${s}`);
      if (!member) continue;
      for (const role of this.roles(principal, `/pool/${poolid}`).keys()) {
        found ??= new Map();
        found.set(role, false);
      }
    }
    return found;
  }

  private ownPermissions(principal: string, path: string): PrivMap {
    let roles = this.roles(principal, path);
    const pool = this.poolRoles(principal, path);
    if (pool && !roles.has('NoAccess')) {
      if (pool.has('NoAccess')) roles = new Map([['NoAccess', false]]);
      else for (const r of pool.keys()) if (!roles.has(r)) roles.set(r, false);
    }
    const privs: PrivMap = new Map();
    for (const [role, propagate] of roles) {
      for (const p of this.rolePrivs(role) ?? []) privs.set(p, (privs.get(p) ?? false) || propagate);
    }
    return privs;
  }

  /** Effective privileges of `principal` on `path`. */
  permissions(principal: string, rawPath: string): PrivMap {
    const path = normalizePath(rawPath);
    if (principal === ROOT) return new Map([...(this.catalogue.roles.get('Administrator') ?? [])].map((p) => [p, true]));
    const { user, token } = splitTokenId(principal);
    if (token !== undefined) {
      const info = this.access.users[user]?.tokens[token];
      if (!info) return new Map();
      const userPrivs = this.permissions(user, path);
      if (!info.privsep) return userPrivs;
      const own = this.ownPermissions(principal, path);
      const out: PrivMap = new Map();
      for (const [p, prop] of own) if (userPrivs.has(p)) out.set(p, prop && userPrivs.get(p)!);
      return out;
    }
    if (!this.access.users[principal]) return new Map();
    return this.ownPermissions(principal, path);
  }

  has(principal: string, path: string, privs: readonly string[], any = false): boolean {
    const perm = this.permissions(principal, path);
    return any ? privs.some((p) => perm.has(p)) : privs.every((p) => perm.has(p));
  }

  /** `$rpcenv->check`: all of `privs`, else 403 naming the first missing one. */
  check(principal: string, path: string, privs: readonly string[]): void {
    const perm = this.permissions(principal, path);
    for (const p of privs) if (!perm.has(p)) permError(`${normalizePath(path)}, ${p}`);
  }

  /** `$rpcenv->check_any`: one of `privs`, else 403 listing them joined by `|`. */
  checkAny(principal: string, path: string, privs: readonly string[]): void {
    if (!this.has(principal, path, privs, true)) permError(`${normalizePath(path)}, ${privs.join('|')}`);
  }

  /** `check_vm_perm`: the pool path (when given) may grant instead of `/vms/<id>`. */
  checkVm(principal: string, vmid: number | string, pool: string | undefined, privs: readonly string[], any = false): void {
    if (pool && this.has(principal, `/pool/${pool}`, privs, any)) return;
    if (any) this.checkAny(principal, `/vms/${vmid}`, privs);
    else this.check(principal, `/vms/${vmid}`, privs);
  }

  /** `get_effective_permissions`: every interesting path → privilege → propagate (0/1). */
  effectivePermissions(principal: string): Record<string, Record<string, 0 | 1>> {
    const paths = new Set(['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms']);
    for (const e of this.access.acl) paths.add(e.path);
    for (const pool of Object.values(this.pools())) {
      for (const v of pool.vms) paths.add(`/vms/${v}`);
      for (const s of pool.storage) paths.add(`/storage/${s}`);
    }
    const out: Record<string, Record<string, 0 | 1>> = {};
    for (const p of paths) {
      const perms = this.permissions(principal, p);
      if (perms.size === 0) continue;
      const row: Record<string, 0 | 1> = {};
      for (const [priv, prop] of [...perms].sort(([a], [b]) => (a < b ? -1 : 1))) row[priv] = prop ? 1 : 0;
      out[p] = row;
    }
    return out;
  }
}
