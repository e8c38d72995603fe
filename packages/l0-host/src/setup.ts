import type { Action, Change, FieldDiff, StepSummary } from '@lab/core';
import { item, l0, type HostItem, type ItemKind } from './item.js';
import type { LabIdentity } from './identity.js';
import type { HostObservation } from './observe.js';
import type { HostRequirements } from './requirements.js';
import { roleDiffSummary } from './role-diff.js';

const COMMENT = 'managed by lab (layer L0)';

function change(kind: ItemKind, key: string, action: Action, fields: { before?: unknown; after?: unknown; diff?: FieldDiff[]; steps?: StepSummary[]; reason?: string }): Change {
  return {
    address: l0(kind, key),
    layer: 'l0',
    kind,
    action,
    impact: 'none',
    ...(fields.before === undefined ? {} : { before: fields.before }),
    ...(fields.after === undefined ? {} : { after: fields.after }),
    diff: fields.diff ?? [],
    sensitivePaths: [],
    steps: fields.steps ?? [],
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
  };
}

export function roleItems(req: HostRequirements, obs: HostObservation): HostItem[] {
  return [...req.roles].map(([roleid, privs]) => {
    const at = l0('role', roleid);
    if (obs.roles === undefined) return item({ address: at, kind: 'role', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `role ${roleid} not checked: roles are not readable` });
    const have = obs.roles[roleid];
    const after = { roleid, privs: [...privs] };
    if (have === undefined) {
      const c = change('role', roleid, 'create', { after, diff: [{ path: 'privs', after: privs.join(',') }], steps: [{ kind: 'api', description: `POST /access/roles roleid=${roleid}` }] });
      return item({ address: at, kind: 'role', status: 'fail', code: 'LAB_L0_ROLE', summary: `role ${roleid} does not exist`, change: c });
    }
    const same = have.length === privs.length && privs.every((p) => have.includes(p));
    if (!same) {
      const c = change('role', roleid, 'update', { before: { roleid, privs: have }, after, diff: [{ path: 'privs', before: have.join(','), after: privs.join(',') }], steps: [{ kind: 'api', description: `PUT /access/roles/${roleid}` }] });
      return item({ address: at, kind: 'role', status: 'fail', code: 'LAB_L0_ROLE', summary: roleDiffSummary(roleid, have, privs, obs.version), change: c });
    }
    return item({ address: at, kind: 'role', status: 'ok', code: 'LAB_L0_OK', summary: `role ${roleid} is up to date`, change: change('role', roleid, 'noop', { before: after, after, reason: privs.join(',') }) });
  });
}

export function accountItems(id: LabIdentity, obs: HostObservation, secretStored: boolean | undefined): HostItem[] {
  const out: HostItem[] = [];
  const userAt = l0('user', id.userId);
  if (id.userId === 'root@pam') {
    out.push(item({ address: userAt, kind: 'user', status: 'warn', code: 'LAB_L0_USER', summary: 'the lab token belongs to root@pam: root-only paths differ and nothing limits it', hint: 'use a dedicated user, e.g. tokenId: lab@pve!lab in lab.yaml, and run `lab apply --layer l0`' }));
  } else if (obs.userExists === false) {
    out.push(item({ address: userAt, kind: 'user', status: 'fail', code: 'LAB_L0_USER', summary: `user ${id.userId} does not exist`, change: change('user', id.userId, 'create', { after: { userid: id.userId, comment: COMMENT }, steps: [{ kind: 'api', description: `POST /access/users userid=${id.userId}` }] }) }));
  } else if (obs.userExists === true) {
    out.push(item({ address: userAt, kind: 'user', status: 'ok', code: 'LAB_L0_OK', summary: `user ${id.userId} exists`, change: change('user', id.userId, 'noop', { reason: 'exists' }) }));
  } else {
    out.push(item({ address: userAt, kind: 'user', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `user ${id.userId} not checked: ${obs.observer} cannot read users` }));
  }

  const tokenAt = l0('token', id.tokenId);
  const after = { userid: id.userId, tokenid: id.tokenName, privsep: true, secretName: id.secretName };
  if (obs.token === undefined) {
    out.push(item({ address: tokenAt, kind: 'token', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `token ${id.tokenId} not checked: ${obs.observer} cannot read tokens` }));
  } else if (!obs.token.exists) {
    const c = change('token', id.tokenId, 'create', {
      after,
      diff: [{ path: 'privsep', after: 1 }, { path: 'secretName', after: id.secretName }],
      steps: [{ kind: 'api', description: `POST /access/users/${id.userId}/token/${id.tokenName} privsep=1` }, { kind: 'other', description: `store the token secret as ${id.secretName}` }],
      reason: 'privilege-separated token; its secret goes only to the secrets store',
    });
    out.push(item({ address: tokenAt, kind: 'token', status: 'fail', code: 'LAB_L0_TOKEN', summary: `API token ${id.tokenId} does not exist`, change: c }));
  } else if (obs.token.privsep === false) {
    const c = change('token', id.tokenId, 'update', { before: { ...after, privsep: false }, after, diff: [{ path: 'privsep', before: 0, after: 1 }], steps: [{ kind: 'api', description: `PUT /access/users/${id.userId}/token/${id.tokenName} privsep=1` }], reason: 'a token without privilege separation holds all rights of its user' });
    out.push(item({ address: tokenAt, kind: 'token', status: 'fail', code: 'LAB_L0_TOKEN', summary: `API token ${id.tokenId} is not privilege-separated`, change: c }));
  } else {
    out.push(item({ address: tokenAt, kind: 'token', status: 'ok', code: 'LAB_L0_OK', summary: `API token ${id.tokenId} exists${obs.token.privsep ? ' (privilege-separated)' : ''}`, change: change('token', id.tokenId, 'noop', { reason: 'exists' }) }));
    if (secretStored === false && obs.observer !== obs.subject) {
      out.push(
        item({
          address: tokenAt,
          kind: 'token',
          status: 'warn',
          code: 'LAB_L0_TOKEN_SECRET',
          summary: `token ${id.tokenId} exists but its secret is not in the secrets store as ${id.secretName}`,
          hint: `store the secret you kept: \`lab secret edit ${id.secretName}\`; or remove the token (\`pveum user token remove ${id.userId} ${id.tokenName}\`) and run \`lab apply --layer l0\` for a new one`,
        }),
      );
    }
  }
  return out;
}

/** One ACL change per path whose privileges the lab token does not all hold. */
export function aclItems(req: HostRequirements, id: LabIdentity, obs: HostObservation): HostItem[] {
  return req.acls.map((acl) => {
    const at = l0('acl', acl.path);
    const needs = req.privileges.filter((p) => p.grantedBy === acl.path);
    if (obs.permissions === undefined) return item({ address: at, kind: 'acl', status: 'skip', code: 'LAB_L0_UNKNOWN', summary: `ACL on ${acl.path} not checked` });
    const missing = needs.filter((n) => !(obs.permissions![n.path] ?? []).includes(n.privilege));
    const after = { path: acl.path, roles: [...acl.roles], users: [id.userId], tokens: [id.tokenId], propagate: acl.propagate };
    if (missing.length === 0) {
      return item({ address: at, kind: 'acl', status: 'ok', code: 'LAB_L0_OK', summary: `${id.tokenId} holds ${acl.roles.join(', ')} privileges on ${acl.path}`, change: change('acl', acl.path, 'noop', { after, reason: 'privileges held' }) });
    }
    const c = change('acl', acl.path, 'create', {
      after,
      diff: [
        { path: 'roles', after: acl.roles.join(',') },
        { path: 'grants', after: missing.map((n) => (n.path === acl.path ? n.privilege : `${n.privilege} on ${n.path}`)).join(', ') },
      ],
      steps: [{ kind: 'api', description: `PUT /access/acl path=${acl.path} roles=${acl.roles.join(',')} users=${id.userId} tokens=${id.tokenId} propagate=${acl.propagate ? 1 : 0}` }],
      reason: `grant ${acl.roles.join(', ')} to ${id.userId} and ${id.tokenId}`,
    });
    return item({ address: at, kind: 'acl', status: 'fail', code: 'LAB_L0_ACL', summary: `${id.tokenId} lacks ${missing.length} privilege${missing.length === 1 ? '' : 's'} on ${acl.path}`, change: c });
  });
}

export function poolItems(req: HostRequirements, obs: HostObservation): HostItem[] {
  return req.pools.map((pool) => {
    const at = l0('pool', pool);
    if (obs.pools?.includes(pool)) return item({ address: at, kind: 'pool', status: 'ok', code: 'LAB_L0_OK', summary: `pool ${pool} exists`, change: change('pool', pool, 'noop', { reason: 'exists' }) });
    const known = obs.pools !== undefined && (obs.observer !== obs.subject || obs.poolsVisible[pool] === true);
    const c = change('pool', pool, 'create', { after: { poolid: pool, comment: COMMENT }, steps: [{ kind: 'api', description: `POST /pools poolid=${pool}` }], reason: known ? 'missing' : 'not visible to the lab token; created unless it exists' });
    return item({ address: at, kind: 'pool', status: 'fail', code: 'LAB_L0_POOL', summary: known ? `pool ${pool} does not exist` : `pool ${pool} is not visible to ${obs.observer}`, change: c });
  });
}
