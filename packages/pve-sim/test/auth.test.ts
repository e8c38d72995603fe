import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim } from './_helpers.js';

let now = Date.UTC(2025, 0, 15, 12, 0, 0);
let t: TestSim;
beforeAll(async () => {
  t = await startTestSim({ clock: () => now });
});
afterAll(async () => {
  await t.close();
});

async function login(user: string, password: string): Promise<{ ticket: string; csrf: string }> {
  const d = await t.data('POST', '/access/ticket', { auth: 'none', body: new URLSearchParams({ username: user, password }) });
  return { ticket: d.ticket, csrf: d.CSRFPreventionToken };
}

describe('401 authentication failures', () => {
  it('no credentials: 401 No ticket, empty body, no content type', async () => {
    const r = await t.call('GET', '/version', { auth: 'none' });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('No ticket');
    expect(r.text).toBe('');
    expect(r.headers['content-type']).toBeUndefined();
  });

  it('bad token secret and unknown token give the legacy reasons', async () => {
    const bad = await t.call('GET', '/version', { auth: { token: 'PVEAPIToken=root@pam!lab-admin=00000000-0000-0000-0000-000000000000' } });
    expect(bad.status).toBe(401);
    expect(bad.reason).toBe('invalid token value!');
    const unknown = await t.call('GET', '/version', { auth: { token: 'PVEAPIToken=root@pam!nope=00000000-0000-0000-0000-000000000000' } });
    expect(unknown.reason).toBe("no such token 'nope' for user 'root@pam'");
  });

  it('unifies reasons as pve-manager >= 8.4.17 does, and delays 401s when asked', async () => {
    const u = await startTestSim({ compat: { unifiedAuthFailure: true }, timing: { authFailureDelayMs: 150 } });
    try {
      const started = Date.now();
      const r = await u.call('GET', '/version', { auth: { token: 'PVEAPIToken=root@pam!lab-admin=x' } });
      expect(r.reason).toBe('Authentication failed!');
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await u.close();
    }
  });
});

describe('tickets and CSRF', () => {
  it('logs in and returns PVE-shaped ticket and CSRF token', async () => {
    const d = await t.data('POST', '/access/ticket', { auth: 'none', body: new URLSearchParams({ username: 'root@pam', password: t.sim.rootPassword }) });
    expect(d.username).toBe('root@pam');
    expect(d.ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::\S+$/);
    expect(d.CSRFPreventionToken).toMatch(/^[0-9A-F]{8}:\S+$/);
    expect(d.cap.vms['VM.Allocate']).toBe(1);
  });

  it('wrong password: handler-level 401 with JSON body', async () => {
    const r = await t.call('POST', '/access/ticket', { auth: 'none', body: 'username=root@pam&password=wrong' });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('authentication failure');
    expect(r.json).toEqual({ data: null, message: 'authentication failure\n' });
  });

  it('requires CSRF on non-GET calls with a ticket, not with tokens', async () => {
    const { ticket, csrf } = await login('root@pam', t.sim.rootPassword);
    expect((await t.call('GET', '/version', { auth: { ticket } })).status).toBe(200);
    const noCsrf = await t.call('POST', '/pools', { auth: { ticket }, body: 'poolid=csrf' });
    expect(noCsrf.status).toBe(401);
    expect(noCsrf.reason).toBe('Permission denied - invalid csrf token');
    expect((await t.call('POST', '/pools', { auth: { ticket, csrf }, body: 'poolid=csrf' })).status).toBe(200);
    const viaHeader = await t.call('GET', '/version', { auth: 'none', headers: { Authorization: `PVEAuthCookie=${ticket}` } });
    expect(viaHeader.status).toBe(200);
  });

  it('expires tickets after 2 hours and renews with the ticket as password', async () => {
    const { ticket } = await login('root@pam', t.sim.rootPassword);
    now += 7000 * 1000;
    const renewed = await login('root@pam', ticket);
    now += 300 * 1000;
    const old = await t.call('GET', '/version', { auth: { ticket } });
    expect(old.status).toBe(401);
    expect(old.reason).toBe('permission denied - invalid PVE ticket');
    expect((await t.call('GET', '/version', { auth: { ticket: renewed.ticket } })).status).toBe(200);
  });

  it('refuses /access/ticket to API tokens with 403', async () => {
    const r = await t.call('POST', '/access/ticket', { body: 'username=root@pam&password=x' });
    expect(r.status).toBe(403);
    expect(r.reason).toBe("Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.");
  });
});

describe('users, tokens, roles, ACLs', () => {
  let tokenHeader = '';
  it('creates a user, a privsep token and a custom role', async () => {
    await t.data('POST', '/access/users', { body: new URLSearchParams({ userid: 'automation@pve', password: 'secret123' }) });
    const tok = await t.data('POST', '/access/users/automation@pve/token/tf', { body: 'privsep=1&comment=terraform' });
    expect(tok['full-tokenid']).toBe('automation@pve!tf');
    expect(tok.info).toEqual({ privsep: 1, comment: 'terraform' });
    expect(tok.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    tokenHeader = `PVEAPIToken=automation@pve!tf=${tok.value}`;
    const again = await t.call('POST', '/access/users/automation@pve/token/tf');
    expect(again.status).toBe(400);
    expect(again.json.errors).toEqual({ tokenid: 'Token already exists.' });
    await t.data('POST', '/access/roles', { body: new URLSearchParams({ roleid: 'VMLifecycle', privs: 'VM.Allocate,VM.Audit,VM.Config.Options' }) });
    expect(await t.data('GET', '/access/roles/VMLifecycle')).toEqual({ 'VM.Allocate': 1, 'VM.Audit': 1, 'VM.Config.Options': 1 });
    const list = await t.data('GET', '/access/users/automation@pve/token');
    expect(list).toEqual([{ tokenid: 'tf', privsep: 1, expire: 0, comment: 'terraform' }]);
  });

  it('checks permissions before the object exists, naming path and privilege', async () => {
    const r = await t.call('GET', '/nodes/pve/qemu/4242/config', { auth: { token: tokenHeader } });
    expect(r.status).toBe(403);
    expect(r.reason).toBe('Permission check failed (/vms/4242, VM.Audit)');
    expect(r.json).toEqual({ data: null, message: 'Permission check failed (/vms/4242, VM.Audit)\n' });
  });

  it('privsep tokens get the intersection of token and user ACLs', async () => {
    await t.data('PUT', '/access/acl', { body: new URLSearchParams({ path: '/vms', roles: 'VMLifecycle', tokens: 'automation@pve!tf' }) });
    const onlyToken = await t.call('GET', '/nodes/pve/qemu/4242/config', { auth: { token: tokenHeader } });
    expect(onlyToken.status).toBe(403);
    await t.data('PUT', '/access/acl', { body: new URLSearchParams({ path: '/vms', roles: 'PVEVMAdmin', users: 'automation@pve' }) });
    const both = await t.call('GET', '/nodes/pve/qemu/4242/config', { auth: { token: tokenHeader } });
    expect(both.status).toBe(500);
    expect(both.reason).toBe("Configuration file 'nodes/pve/qemu-server/4242.conf' does not exist");
    const perms = await t.data('GET', '/access/permissions', { auth: { token: tokenHeader } });
    expect(perms['/vms']).toEqual({ 'VM.Allocate': 1, 'VM.Audit': 1, 'VM.Config.Options': 1 });
    const acl = await t.data('GET', '/access/acl');
    expect(acl).toContainEqual({ path: '/vms', type: 'token', ugid: 'automation@pve!tf', roleid: 'VMLifecycle', propagate: 1 });
  });

  it('a non-propagating ACL applies only to its own path', async () => {
    await t.data('PUT', '/access/acl', { body: new URLSearchParams({ path: '/storage/local', roles: 'PVEDatastoreUser', users: 'automation@pve', propagate: '0' }) });
    const perms = await t.data('GET', '/access/permissions', { query: 'userid=automation@pve&path=/storage/local' });
    expect(perms['/storage/local']).toEqual({ 'Datastore.AllocateSpace': 0, 'Datastore.Audit': 0 });
  });

  it('root@pam!token is not root: skiplock and root-only keys are refused', async () => {
    const r = await t.call('PUT', '/nodes/pve/qemu/4242/config', { body: 'skiplock=1&cores=2' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual({ skiplock: 'Only root may use this option.' });
    const create = await t.call('POST', '/nodes/pve/qemu', { body: 'vmid=4243&args=-foo' });
    expect(create.status).toBe(500);
    expect(create.reason).toBe("only root can set 'args' config");
  });

  it('create without VM.Allocate is a bare 403', async () => {
    await t.data('POST', '/access/users/automation@pve/token/ro', { body: 'privsep=1' });
    const info = await t.data('POST', '/access/users/automation@pve/token/ro2', { body: 'privsep=1' });
    const r = await t.call('POST', '/nodes/pve/qemu', { auth: { token: `PVEAPIToken=automation@pve!ro2=${info.value}` }, body: 'vmid=150' });
    expect(r.status).toBe(403);
    expect(r.reason).toBe('Permission check failed');
  });

  it('deletes tokens and their ACLs', async () => {
    await t.data('DELETE', '/access/users/automation@pve/token/tf');
    const r = await t.call('GET', '/version', { auth: { token: tokenHeader } });
    expect(r.status).toBe(401);
    const acl = await t.data('GET', '/access/acl');
    expect(acl.find((e: any) => e.ugid === 'automation@pve!tf')).toBeUndefined();
  });
});

describe('ACL paths (pve-access-control check_path)', () => {
  it('accepts /pool as well as /pool/<id>, and refuses paths PVE refuses', async () => {
    for (const path of ['/pool', '/pool/homelab-stable', '/sdn', '/storage', '/nodes/pve']) {
      const r = await t.call('PUT', '/access/acl', { body: new URLSearchParams({ path, roles: 'PVEAuditor', users: 'root@pam' }) });
      expect(r.status, path).toBe(200);
    }
    const bad = await t.call('PUT', '/access/acl', { body: new URLSearchParams({ path: '/nope', roles: 'PVEAuditor', users: 'root@pam' }) });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.path).toMatch(/invalid ACL path/);
  });
});
