import type { Route } from '../http/_router.js';
import { fail, paramError } from '../http/_errors.js';
import { bool, opt, std, str } from '../schema/std.js';
import { p, pBool, req } from './_helpers.js';
import type { AclKind } from '../state/model.js';
import type { Sim } from '../engine/sim.js';
import { normalizePath, splitTokenId } from '../access/acl.js';
import { splitList } from '../util/_list.js';

const ACL_PATH_RE =
  /^\/(?:access(?:\/groups(?:\/[^/]+)?|\/realm(?:\/[^/]+)?)?|vms(?:\/\d+)?|storage(?:\/[^/]+)?|nodes(?:\/[^/]+)?|pool(?:\/[^/]+)*|sdn(?:\/.+)?|mapping(?:\/.+)?)?$/;

/** Roles and ACL entries (`/access/roles`, `/access/acl`). */
export const accessAclRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/access/roles',
    permissions: { user: 'all' },
    handler: ({ sim }) => {
      const rows: Record<string, unknown>[] = [];
      for (const [roleid, privs] of sim.access.catalogue.roles) rows.push({ roleid, privs: [...privs].sort().join(','), special: 1 });
      for (const roleid of Object.keys(sim.state.access.roles)) rows.push({ roleid, privs: [...sim.access.rolePrivs(roleid)!].sort().join(','), special: 0 });
      return rows;
    },
  },
  {
    method: 'POST',
    path: '/access/roles',
    permissions: { check: ['perm', '/access', ['Sys.Modify']] },
    params: { roleid: std.roleid, privs: opt(str({ format: 'pve-priv-list' })) },
    handler: ({ sim, params }) => {
      const roleid = req(params, 'roleid');
      if (/^PVE/i.test(roleid)) paramError({ roleid: "cannot use role ID starting with 'PVE'" });
      const privs = validPrivs(sim, splitList(p(params, 'privs')));
      if (sim.access.catalogue.roles.has(roleid) || sim.state.access.roles[roleid]) fail(`create role failed: role '${roleid}' already exists`);
      sim.state.access.roles[roleid] = privs;
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/roles/{roleid}',
    permissions: { user: 'all' },
    params: { roleid: std.roleid },
    handler: ({ sim, params }) => {
      const roleid = req(params, 'roleid');
      const privs = sim.access.rolePrivs(roleid);
      if (!privs) fail(`role '${roleid}' does not exist`);
      return Object.fromEntries([...privs].sort().map((x) => [x, 1]));
    },
  },
  {
    method: 'PUT',
    path: '/access/roles/{roleid}',
    permissions: { check: ['perm', '/access', ['Sys.Modify']] },
    params: { roleid: std.roleid, privs: opt(str({ format: 'pve-priv-list' })), append: opt(bool({ requires: 'privs' })) },
    handler: ({ sim, params }) => {
      const roleid = req(params, 'roleid');
      const next = validPrivs(sim, splitList(p(params, 'privs')));
      if (sim.access.catalogue.roles.has(roleid)) fail(`auto-generated role '${roleid}' cannot be modified`);
      if (!sim.state.access.roles[roleid]) fail(`update role failed: role '${roleid}' does not exist`);
      // PVE rewrites user.cfg from what it parsed: privileges this release does not know are gone.
      const existing = [...sim.access.rolePrivs(roleid)!];
      sim.state.access.roles[roleid] = pBool(params, 'append') ? [...new Set([...existing, ...next])] : next;
      return null;
    },
  },
  {
    method: 'DELETE',
    path: '/access/roles/{roleid}',
    permissions: { check: ['perm', '/access', ['Sys.Modify']] },
    params: { roleid: std.roleid },
    handler: ({ sim, params }) => {
      const roleid = req(params, 'roleid');
      if (sim.access.catalogue.roles.has(roleid)) fail(`auto-generated role '${roleid}' cannot be deleted`);
      if (!sim.state.access.roles[roleid]) fail(`delete role failed: role '${roleid}' does not exist`);
      delete sim.state.access.roles[roleid];
      sim.state.access.acl = sim.state.access.acl.filter((e) => e.roleid !== roleid);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/acl',
    permissions: { user: 'all' },
    handler: ({ sim, principal }) => {
      const audit = sim.access.has(principal, '/access', ['Sys.Audit']);
      return sim.state.access.acl
        .filter((e) => audit || sim.access.has(principal, e.path, ['Permissions.Modify'], true))
        .map((e) => ({ path: e.path, type: e.kind, ugid: e.ugid, roleid: e.roleid, propagate: e.propagate }));
    },
  },
  {
    method: 'PUT',
    path: '/access/acl',
    permissions: { check: ['perm-modify', '{path}'] },
    params: {
      path: str({ maxLength: 128 }),
      roles: str({ format: 'pve-roleid-list' }),
      users: opt(str({ format: 'pve-userid-list' })),
      groups: opt(str({ format: 'pve-groupid-list' })),
      tokens: opt(str({ format: 'string-list' })),
      propagate: opt(bool({ default: 1 })),
      delete: opt(bool()),
    },
    handler: ({ sim, params, principal }) => {
      const users = splitList(p(params, 'users'));
      const groups = splitList(p(params, 'groups'));
      const tokens = splitList(p(params, 'tokens'));
      if (users.length + groups.length + tokens.length === 0) {
        paramError(Object.fromEntries(['users', 'groups', 'tokens'].map((k) => [k, "either 'users', 'groups' or 'tokens' is required."])));
      }
      const path = normalizePath(req(params, 'path'));
      const del = pBool(params, 'delete') ?? false;
      if (!del && !ACL_PATH_RE.test(path)) paramError({ path: `invalid ACL path '${req(params, 'path')}'` });
      const propagate: 0 | 1 = pBool(params, 'propagate') === false ? 0 : 1;
      const mine = sim.access.permissions(principal, path);
      for (const role of splitList(req(params, 'roles'))) {
        const privs = sim.access.rolePrivs(role);
        if (!privs) fail(`role '${role}' does not exist`);
        if (!mine.has('Permissions.Modify')) {
          const verb = del ? 'remove' : 'add';
          for (const priv of privs) {
            if (!mine.has(priv)) paramError({ role: `Cannot ${verb} role '${role}' - requires 'Permissions.Modify' or superset of privileges.` });
            if (propagate && !mine.get(priv) && !del) {
              paramError({ role: `Cannot ${verb} role '${role}' with propagation - requires 'Permissions.Modify' or propagated superset of privileges.` });
            }
          }
          if (role === 'NoAccess') paramError({ role: `Cannot ${verb} role '${role}' - requires 'Permissions.Modify'` });
        }
        const apply = (kind: AclKind, ugid: string): void => {
          const acl = sim.state.access.acl;
          const i = acl.findIndex((e) => e.path === path && e.kind === kind && e.ugid === ugid && e.roleid === role);
          if (del) {
            if (i >= 0) acl.splice(i, 1);
          } else if (i >= 0) acl[i]!.propagate = propagate;
          else acl.push({ path, kind, ugid, roleid: role, propagate });
        };
        for (const g of groups) {
          if (!sim.state.access.groups[g]) fail(`group '${g}' does not exist`);
          apply('group', g);
        }
        for (const u of users) {
          if (!sim.state.access.users[u]) fail(`user '${u}' does not exist`);
          apply('user', u);
        }
        for (const t of tokens) {
          const { user, token } = splitTokenId(t);
          if (token === undefined) fail(`'${t}' is not a valid token ID`);
          if (!sim.state.access.users[user]) fail(`no such user ('${user}')`);
          if (!sim.state.access.users[user]!.tokens[token]) fail(`no such token '${token}' for user '${user}'`);
          apply('token', t);
        }
      }
      return null;
    },
  },
];

/**
 * `privs` has format `pve-priv-list`, whose verifier (`verify_privname`) knows only this
 * release's privileges: an unknown one fails parameter verification (400) before the handler
 * runs — `VM.Monitor` on 9.x, `VM.GuestAgent.Audit` on 8.x.
 */
function validPrivs(sim: Sim, privs: string[]): string[] {
  for (const priv of privs) if (!sim.access.catalogue.valid.has(priv)) paramError({ privs: `invalid format - invalid privilege '${priv}'\n` });
  return [...new Set(privs)];
}
