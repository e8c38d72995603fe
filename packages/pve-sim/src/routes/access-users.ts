import type { Route } from '../http/_router.js';
import { fail, paramError, permError } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, pInt, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import type { AclKind, UserRecord } from '../state/model.js';
import { hashPassword } from '../access/passwords.js';
import { ROOT } from '../access/acl.js';
import { splitTokenId } from '../access/acl.js';
import { splitList } from '../util/_list.js';
import { randomUuid } from '../util/_prng.js';

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

/** Users, their API tokens, and groups (`/access/users`, `/access/groups`). */
export const accessUserRoutes: readonly Route[] = [
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
];
