import type { Route } from '../http/_router.js';
import { fail, paramError, permError } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, pInt, req } from './_helpers.js';
import { createCsrfToken, createTicket } from '../access/tickets.js';
import { checkLogin } from '../access/authenticate.js';
import { hashPassword } from '../access/passwords.js';
import { BUILTIN_ROLES, VALID_PRIVILEGES, isBuiltinRole } from '../access/privileges.js';
import { normalizePath, ROOT, splitTokenId } from '../access/acl.js';
import { splitList } from '../util/_list.js';
import { randomUuid } from '../util/_prng.js';
import type { Sim } from '../engine/sim.js';
import type { AclKind, UserRecord } from '../state/model.js';

const ACL_PATH_RE =
  /^\/(?:access(?:\/groups(?:\/[^/]+)?|\/realm(?:\/[^/]+)?)?|vms(?:\/\d+)?|storage(?:\/[^/]+)?|nodes(?:\/[^/]+)?|pool(?:\/[^/]+)+|sdn(?:\/.+)?|mapping(?:\/.+)?)?$/;

/** `compute_api_permission`: the `cap` object of a login answer. */
function capabilities(sim: Sim, principal: string): Record<string, Record<string, 1>> {
  const cats: Record<string, RegExp> = {
    vms: /^(VM\.|Permissions\.Modify)/,
    access: /^((User|Group)\.|Permissions\.Modify)/,
    storage: /^(Datastore\.|Permissions\.Modify)/,
    nodes: /^(Sys\.|Permissions\.Modify)/,
    sdn: /^(SDN\.|Permissions\.Modify)/,
    dc: /^(Sys\.Audit|Sys\.Modify|SDN\.)/,
    mapping: /^(Mapping\.|Permissions\.Modify)/,
  };
  const res: Record<string, Record<string, 1>> = {};
  for (const k of Object.keys(cats)) res[k] = {};
  const paths = new Set(['/', '/nodes', '/access/groups', '/vms', '/storage', '/sdn', '/mapping']);
  for (const e of sim.state.access.acl) paths.add(e.path);
  for (const path of paths) {
    const top = /^\/(\w+)/.exec(path)?.[1] ?? 'dc';
    const re = cats[top];
    if (!re) continue;
    for (const priv of sim.access.permissions(principal, path).keys()) if (re.test(priv)) res[top]![priv] = 1;
  }
  return res;
}

function userRow(userid: string, u: UserRecord, full: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = { userid, enable: u.enable, expire: u.expire, 'realm-type': userid.split('@')[1] };
  for (const k of ['firstname', 'lastname', 'email', 'comment'] as const) if (u[k] !== undefined) row[k] = u[k];
  if (full) row['tokens'] = Object.entries(u.tokens).map(([tokenid, t]) => tokenRow(tokenid, t));
  return row;
}

function tokenRow(tokenid: string, t: UserRecord['tokens'][string]): Record<string, unknown> {
  return { tokenid, privsep: t.privsep, expire: t.expire, ...(t.comment ? { comment: t.comment } : {}) };
}

function mustUser(sim: Sim, userid: string): UserRecord {
  const u = sim.state.access.users[userid];
  if (!u) fail(`no such user ('${userid}')`);
  return u;
}

function removeAclFor(sim: Sim, kind: AclKind, ugid: string): void {
  sim.state.access.acl = sim.state.access.acl.filter((e) => !(e.kind === kind && e.ugid === ugid));
}

const userPerm = { check: ['or', ['userid-param', 'self'], ['perm', '/access/users/{userid}', ['User.Modify']]] } as const;

export const accessRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/access',
    permissions: { user: 'all' },
    handler: () => ['users', 'groups', 'roles', 'acl', 'domains', 'ticket', 'password', 'permissions'].map((subdir) => ({ subdir })),
  },
  { method: 'GET', path: '/access/ticket', permissions: { user: 'world' }, handler: () => null },
  {
    method: 'POST',
    path: '/access/ticket',
    permissions: { user: 'world' },
    allowToken: false,
    params: {
      username: str({ maxLength: 64 }),
      password: str(),
      realm: opt(str()),
      otp: opt(str()),
      path: opt(str({ maxLength: 64 })),
      privs: opt(str({ maxLength: 64 })),
      'new-format': opt(bool()),
      'tfa-challenge': opt(str()),
    },
    handler: ({ sim, params }) => {
      let username = req(params, 'username');
      const realm = p(params, 'realm');
      if (realm && !username.includes('@')) username = `${username}@${realm}`;
      if (!checkLogin(sim, username, req(params, 'password'))) fail('authentication failure', 401);
      const now = sim.nowS();
      const res: Record<string, unknown> = {
        username,
        ticket: createTicket(sim.state.access.ticketSecret, username, now),
        CSRFPreventionToken: createCsrfToken(sim.state.access.ticketSecret, username, now),
        cap: capabilities(sim, username),
      };
      if (Object.keys(sim.state.nodes).length > 1) res['clustername'] = 'lab';
      return res;
    },
  },
  {
    method: 'GET',
    path: '/access/domains',
    permissions: { user: 'world' },
    handler: () => [
      { realm: 'pam', type: 'pam', comment: 'Linux PAM standard authentication' },
      { realm: 'pve', type: 'pve', comment: 'Proxmox VE authentication server' },
    ],
  },
  {
    method: 'GET',
    path: '/access/users',
    permissions: { user: 'all' },
    params: { enabled: opt(bool()), full: opt(bool({ default: 0 })) },
    handler: ({ sim, principal, params }) => {
      const audit = sim.access.has(principal, '/access/groups', ['User.Modify', 'Sys.Audit'], true);
      const own = splitTokenId(principal).user;
      return Object.entries(sim.state.access.users)
        .filter(([id, u]) => (audit || id === own) && (pBool(params, 'enabled') === undefined || !!u.enable === pBool(params, 'enabled')))
        .map(([id, u]) => userRow(id, u, pBool(params, 'full') ?? false));
    },
  },
  {
    method: 'POST',
    path: '/access/users',
    permissions: { check: ['userid-group', ['User.Modify']] },
    params: {
      userid: std.userid,
      password: opt(str({ minLength: 5, maxLength: 64 })),
      enable: opt(bool({ default: 1 })),
      expire: opt(int({ minimum: 0 })),
      firstname: opt(str()),
      lastname: opt(str()),
      email: opt(str({ format: 'email-opt' })),
      comment: opt(str()),
      groups: opt(str({ format: 'pve-groupid-list' })),
      keys: opt(str()),
    },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      if (sim.state.access.users[userid]) fail(`create user failed: user '${userid}' already exists`);
      const realm = userid.split('@')[1];
      if (realm !== 'pam' && realm !== 'pve') fail(`create user failed: authentication domain '${realm}' does not exist`);
      for (const g of splitList(p(params, 'groups'))) if (!sim.state.access.groups[g]) fail(`create user failed: no such group '${g}'`);
      const user: UserRecord = { enable: pBool(params, 'enable') === false ? 0 : 1, expire: pInt(params, 'expire') ?? 0, tokens: {} };
      for (const k of ['firstname', 'lastname', 'email', 'comment'] as const) {
        const v = p(params, k);
        if (v !== undefined) user[k] = v;
      }
      const pw = p(params, 'password');
      if (pw !== undefined) user.password = hashPassword(pw);
      sim.state.access.users[userid] = user;
      for (const g of splitList(p(params, 'groups'))) sim.state.access.groups[g]!.users.push(userid);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/users/{userid}',
    permissions: { check: ['userid-group', ['User.Modify', 'Sys.Audit']] },
    params: { userid: std.userid },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const u = mustUser(sim, userid);
      const row = userRow(userid, u, false);
      delete row['userid'];
      row['groups'] = Object.entries(sim.state.access.groups)
        .filter(([, g]) => g.users.includes(userid))
        .map(([id]) => id);
      row['tokens'] = Object.fromEntries(Object.entries(u.tokens).map(([id, t]) => [id, tokenRow(id, t)]));
      return row;
    },
  },
  {
    method: 'PUT',
    path: '/access/users/{userid}',
    permissions: { check: ['userid-group', ['User.Modify']] },
    params: {
      userid: std.userid,
      enable: opt(bool()),
      expire: opt(int({ minimum: 0 })),
      firstname: opt(str()),
      lastname: opt(str()),
      email: opt(str({ format: 'email-opt' })),
      comment: opt(str()),
      groups: opt(str({ format: 'pve-groupid-list' })),
      append: opt(bool({ requires: 'groups' })),
      keys: opt(str()),
    },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const u = mustUser(sim, userid);
      if (p(params, 'enable') !== undefined) u.enable = pBool(params, 'enable') ? 1 : 0;
      if (p(params, 'expire') !== undefined) u.expire = pInt(params, 'expire') ?? 0;
      for (const k of ['firstname', 'lastname', 'email', 'comment'] as const) {
        const v = p(params, k);
        if (v !== undefined) u[k] = v;
      }
      const groups = p(params, 'groups');
      if (groups !== undefined) {
        const wanted = splitList(groups);
        for (const g of wanted) if (!sim.state.access.groups[g]) fail(`update user failed: no such group '${g}'`);
        for (const [id, g] of Object.entries(sim.state.access.groups)) {
          const member = g.users.includes(userid);
          if (wanted.includes(id) && !member) g.users.push(userid);
          if (!wanted.includes(id) && member && !pBool(params, 'append')) g.users = g.users.filter((x) => x !== userid);
        }
      }
      return null;
    },
  },
  {
    method: 'DELETE',
    path: '/access/users/{userid}',
    permissions: { check: ['userid-group', ['User.Modify']] },
    params: { userid: std.userid },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      if (userid === ROOT) permError();
      mustUser(sim, userid);
      delete sim.state.access.users[userid];
      removeAclFor(sim, 'user', userid);
      sim.state.access.acl = sim.state.access.acl.filter((e) => !(e.kind === 'token' && e.ugid.startsWith(`${userid}!`)));
      for (const g of Object.values(sim.state.access.groups)) g.users = g.users.filter((x) => x !== userid);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/users/{userid}/token',
    permissions: userPerm,
    params: { userid: std.userid },
    handler: ({ sim, params }) => Object.entries(mustUser(sim, req(params, 'userid')).tokens).map(([id, t]) => tokenRow(id, t)),
  },
  {
    method: 'GET',
    path: '/access/users/{userid}/token/{tokenid}',
    permissions: userPerm,
    params: { userid: std.userid, tokenid: std.tokenid },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const name = req(params, 'tokenid');
      const t = mustUser(sim, userid).tokens[name];
      if (!t) fail(`no such token '${name}' for user '${userid}'`);
      const row = tokenRow(name, t);
      delete row['tokenid'];
      return row;
    },
  },
  {
    method: 'POST',
    path: '/access/users/{userid}/token/{tokenid}',
    permissions: userPerm,
    params: {
      userid: std.userid,
      tokenid: std.tokenid,
      privsep: opt(bool({ default: 1 })),
      expire: opt(int({ minimum: 0 })),
      comment: opt(str()),
    },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const name = req(params, 'tokenid');
      const u = mustUser(sim, userid);
      if (u.tokens[name]) paramError({ tokenid: 'Token already exists.' });
      const secret = randomUuid(sim.rng);
      const info: UserRecord['tokens'][string] = {
        privsep: pBool(params, 'privsep') === false ? 0 : 1,
        expire: pInt(params, 'expire') ?? 0,
        secret,
        ...(p(params, 'comment') ? { comment: p(params, 'comment')! } : {}),
      };
      u.tokens[name] = info;
      const shown: Record<string, unknown> = { privsep: info.privsep };
      if (p(params, 'expire') !== undefined) shown['expire'] = info.expire;
      if (info.comment) shown['comment'] = info.comment;
      return { 'full-tokenid': `${userid}!${name}`, info: shown, value: secret };
    },
  },
  {
    method: 'PUT',
    path: '/access/users/{userid}/token/{tokenid}',
    permissions: userPerm,
    params: {
      userid: std.userid,
      tokenid: std.tokenid,
      privsep: opt(bool()),
      expire: opt(int({ minimum: 0 })),
      comment: opt(str()),
    },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const name = req(params, 'tokenid');
      const t = mustUser(sim, userid).tokens[name];
      if (!t) fail(`no such token '${name}' for user '${userid}'`);
      if (p(params, 'privsep') !== undefined) t.privsep = pBool(params, 'privsep') ? 1 : 0;
      if (p(params, 'expire') !== undefined) t.expire = pInt(params, 'expire') ?? 0;
      if (p(params, 'comment') !== undefined) t.comment = p(params, 'comment')!;
      const row = tokenRow(name, t);
      delete row['tokenid'];
      return row;
    },
  },
  {
    method: 'DELETE',
    path: '/access/users/{userid}/token/{tokenid}',
    permissions: userPerm,
    params: { userid: std.userid, tokenid: std.tokenid },
    handler: ({ sim, params }) => {
      const userid = req(params, 'userid');
      const name = req(params, 'tokenid');
      const u = mustUser(sim, userid);
      if (!u.tokens[name]) fail(`no such token '${name}' for user '${userid}'`);
      delete u.tokens[name];
      removeAclFor(sim, 'token', `${userid}!${name}`);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/groups',
    permissions: { user: 'all' },
    handler: ({ sim }) =>
      Object.entries(sim.state.access.groups).map(([groupid, g]) => ({
        groupid,
        users: g.users.join(','),
        ...(g.comment ? { comment: g.comment } : {}),
      })),
  },
  {
    method: 'POST',
    path: '/access/groups',
    permissions: { check: ['perm', '/access/groups', ['Group.Allocate']] },
    params: { groupid: str({ format: 'pve-groupid' }), comment: opt(str()) },
    handler: ({ sim, params }) => {
      const id = req(params, 'groupid');
      if (sim.state.access.groups[id]) fail(`create group failed: group '${id}' already exists`);
      sim.state.access.groups[id] = { users: [], ...(p(params, 'comment') ? { comment: p(params, 'comment')! } : {}) };
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/groups/{groupid}',
    permissions: { check: ['perm', '/access/groups', ['Sys.Audit', 'Group.Allocate'], { any: true }] },
    params: { groupid: str({ format: 'pve-groupid' }) },
    handler: ({ sim, params }) => {
      const g = sim.state.access.groups[req(params, 'groupid')];
      if (!g) fail(`group '${req(params, 'groupid')}' does not exist`);
      return { members: [...g.users], ...(g.comment ? { comment: g.comment } : {}) };
    },
  },
  {
    method: 'DELETE',
    path: '/access/groups/{groupid}',
    permissions: { check: ['perm', '/access/groups', ['Group.Allocate']] },
    params: { groupid: str({ format: 'pve-groupid' }) },
    handler: ({ sim, params }) => {
      const id = req(params, 'groupid');
      if (!sim.state.access.groups[id]) fail(`delete group failed: group '${id}' does not exist`);
      delete sim.state.access.groups[id];
      removeAclFor(sim, 'group', id);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/access/roles',
    permissions: { user: 'all' },
    handler: ({ sim }) => {
      const rows: Record<string, unknown>[] = [];
      for (const [roleid, privs] of BUILTIN_ROLES) rows.push({ roleid, privs: [...privs].sort().join(','), special: 1 });
      for (const [roleid, privs] of Object.entries(sim.state.access.roles)) rows.push({ roleid, privs: [...privs].sort().join(','), special: 0 });
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
      if (isBuiltinRole(roleid) || sim.state.access.roles[roleid]) fail(`create role failed: role '${roleid}' already exists`);
      sim.state.access.roles[roleid] = validPrivs(splitList(p(params, 'privs')), 'create role failed');
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
      if (isBuiltinRole(roleid)) fail(`auto-generated role '${roleid}' cannot be modified`);
      const existing = sim.state.access.roles[roleid];
      if (!existing) fail(`update role failed: role '${roleid}' does not exist`);
      const next = validPrivs(splitList(p(params, 'privs')), 'update role failed');
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
      if (isBuiltinRole(roleid)) fail(`auto-generated role '${roleid}' cannot be deleted`);
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
  {
    method: 'GET',
    path: '/access/permissions',
    permissions: { user: 'all' },
    params: { path: opt(str()), userid: opt(str({ pattern: /[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?/ })) },
    handler: ({ sim, principal, params }) => {
      let target = principal;
      const userid = p(params, 'userid');
      if (userid !== undefined && userid !== principal) {
        const own = splitTokenId(principal).user;
        const allowed = splitTokenId(userid).user === own && splitTokenId(principal).token === undefined;
        if (!allowed) sim.access.check(principal, '/access', ['Sys.Audit']);
        target = userid;
      }
      const path = p(params, 'path');
      if (path !== undefined) {
        const perms = sim.access.permissions(target, path);
        return { [normalizePath(path)]: Object.fromEntries([...perms].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v ? 1 : 0])) };
      }
      return sim.access.effectivePermissions(target);
    },
  },
];

function validPrivs(privs: string[], prefix: string): string[] {
  for (const priv of privs) if (!VALID_PRIVILEGES.has(priv)) fail(`${prefix}: invalid privilege '${priv}'`);
  return [...new Set(privs)];
}
