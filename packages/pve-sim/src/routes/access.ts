import type { Route } from '../http/_router.js';
import { fail } from '../http/_errors.js';
import { bool, opt, str } from '../schema/std.js';
import { p, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import { createCsrfToken, createTicket } from '../access/tickets.js';
import { checkLogin } from '../access/authenticate.js';
import { normalizePath, splitTokenId } from '../access/acl.js';

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

/** Login, realms and effective permissions (`/access`, `/access/ticket`, `/access/permissions`). */
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
  },];
