import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { pveRelease, startSimulator } from '../src/index.js';
import { startTestSim, type TestSim } from './_helpers.js';
import { MemoryBackend } from './_memory-backend.js';

// The simulator speaks Proxmox VE 8.4 or 9.1, chosen per run (ADR 0171). Each test below asks
// both releases the same thing a client would and checks each one's own answer — the 9.x side
// read from pve-access-control 9.1.1 (privileges, roles) and qemu-server 9 (agent permissions,
// tags at create), the 8.4 side from their bookworm branches.

const sims: Record<'8.4' | '9.1', TestSim> = {} as never;
beforeAll(async () => {
  sims['8.4'] = await startTestSim();
  sims['9.1'] = await startTestSim({ pve: '9.1' });
});
afterAll(async () => {
  await Promise.all(Object.values(sims).map((t) => t.close()));
});

/** A user with `privs` on /vms and a token without privilege separation; returns its auth header. */
async function userWith(t: TestSim, name: string, privs: string): Promise<string> {
  await t.data('POST', '/access/roles', { body: { roleid: `R${name}`, privs } });
  await t.data('POST', '/access/users', { body: { userid: `${name}@pve` } });
  const tok = await t.data('POST', `/access/users/${name}@pve/token/tk`, { body: { privsep: 0 } });
  await t.data('PUT', '/access/acl', { body: { path: '/vms', roles: `R${name}`, users: `${name}@pve` } });
  return `PVEAPIToken=${name}@pve!tk=${tok.value}`;
}

async function runningVm(t: TestSim, vmid: number): Promise<void> {
  await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid, name: `vm${vmid}`, scsi0: 'local-lvm:1', agent: '1' } }));
  await t.wait(await t.data('POST', `/nodes/pve/qemu/${vmid}/status/start`));
}

describe('Proxmox VE 8.4 and 9.1 side by side', () => {
  it('/version and node status name the release', async () => {
    expect(await sims['8.4'].data('GET', '/version')).toEqual({ version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d' });
    expect(await sims['9.1'].data('GET', '/version')).toEqual({ version: '9.1.1', release: '9.1', repoid: '42db4a6cf33dac83' });
    const s9 = await sims['9.1'].data('GET', '/nodes/pve/status');
    expect(s9.pveversion).toBe('pve-manager/9.1.1/42db4a6cf33dac83');
    expect(s9.kversion).toMatch(/^Linux 6\.17\./);
    expect((await sims['8.4'].data('GET', '/nodes/pve/status')).kversion).toMatch(/^Linux 6\.8\./);
  });

  it('QEMU: 9.2 on 8.4, 10.1 on 9.1 (running-qemu, running-machine, creation-qemu)', async () => {
    for (const [r, qemu, machine] of [['8.4', '9.2.0', 'pc-i440fx-9.2+pve1'], ['9.1', '10.1.2', 'pc-i440fx-10.1+pve0']] as const) {
      const t = sims[r];
      await runningVm(t, 150);
      expect(await t.data('GET', '/nodes/pve/qemu/150/status/current')).toMatchObject({ 'running-qemu': qemu, 'running-machine': machine });
      expect((await t.data('GET', '/nodes/pve/qemu/150/config')).meta).toMatch(new RegExp(`^creation-qemu=${qemu.replace(/\./g, '\\.')},ctime=`));
    }
  });

  it('built-in roles: 9.x has VM.GuestAgent.* and VM.Replicate where 8.4 has VM.Monitor', async () => {
    const roles = async (t: TestSim) => new Map<string, string[]>((await t.data('GET', '/access/roles')).map((r: { roleid: string; privs: string }) => [r.roleid, r.privs.split(',')]));
    const r8 = await roles(sims['8.4']);
    const r9 = await roles(sims['9.1']);
    expect(r8.get('PVEVMAdmin')).toContain('VM.Monitor');
    expect(r8.get('PVEVMAdmin')!.filter((p) => p.startsWith('VM.GuestAgent'))).toEqual([]);
    expect(r9.get('PVEVMAdmin')).not.toContain('VM.Monitor');
    expect(r9.get('PVEVMAdmin')).toEqual(expect.arrayContaining(['VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.GuestAgent.Unrestricted', 'VM.Replicate']));
    // user-level agent privileges reach PVEVMUser, the audit one PVEAuditor; Unrestricted stays admin-only
    expect(r9.get('PVEVMUser')).toEqual(expect.arrayContaining(['VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileWrite', 'VM.GuestAgent.FileSystemMgmt']));
    expect(r9.get('PVEVMUser')).not.toContain('VM.GuestAgent.Unrestricted');
    expect(r9.get('PVEAuditor')).toContain('VM.GuestAgent.Audit');
    expect(r9.get('Administrator')).toContain('VM.Replicate');
  });

  it('a role with VM.Monitor: created on 8.4, refused on 9.1 with its parameter error (and the reverse for VM.GuestAgent.Audit)', async () => {
    expect((await sims['8.4'].call('POST', '/access/roles', { body: { roleid: 'Old', privs: 'VM.Audit,VM.Monitor' } })).status).toBe(200);
    const r9 = await sims['9.1'].call('POST', '/access/roles', { body: { roleid: 'Old', privs: 'VM.Audit,VM.Monitor' } });
    expect(r9.status).toBe(400);
    expect(r9.reason).toBe('Parameter verification failed.');
    expect(r9.json).toEqual({ data: null, errors: { privs: "invalid format - invalid privilege 'VM.Monitor'\n" }, message: 'Parameter verification failed.\n' });

    expect((await sims['9.1'].call('POST', '/access/roles', { body: { roleid: 'New', privs: 'VM.Audit,VM.GuestAgent.Audit' } })).status).toBe(200);
    const r8 = await sims['8.4'].call('POST', '/access/roles', { body: { roleid: 'New', privs: 'VM.Audit,VM.GuestAgent.Audit' } });
    expect(r8.status).toBe(400);
    expect(r8.json.errors).toEqual({ privs: "invalid format - invalid privilege 'VM.GuestAgent.Audit'\n" });
    // the refused role was not created, not even empty
    expect((await sims['8.4'].call('GET', '/access/roles/New')).status).toBe(500);
  });

  it('guest agent: VM.Monitor on 8.4; on 9.1 the command’s VM.GuestAgent.* privilege or Unrestricted', async () => {
    for (const t of Object.values(sims)) await runningVm(t, 100);
    const old8 = await userWith(sims['8.4'], 'mon', 'VM.Audit,VM.Monitor');
    expect((await sims['8.4'].call('POST', '/nodes/pve/qemu/100/agent/ping', { auth: { token: old8 } })).status).toBe(200);
    const audit8 = await userWith(sims['8.4'], 'aud', 'VM.Audit');
    expect((await sims['8.4'].call('POST', '/nodes/pve/qemu/100/agent/ping', { auth: { token: audit8 } })).reason).toBe('Permission check failed (/vms/100, VM.Monitor)');

    const ga9 = await userWith(sims['9.1'], 'ga', 'VM.Audit,VM.GuestAgent.Audit');
    expect((await sims['9.1'].call('POST', '/nodes/pve/qemu/100/agent/ping', { auth: { token: ga9 } })).status).toBe(200);
    expect((await sims['9.1'].call('GET', '/nodes/pve/qemu/100/agent/network-get-interfaces', { auth: { token: ga9 } })).status).toBe(200);
    // fstrim needs FileSystemMgmt (or Unrestricted): Audit is not enough
    expect((await sims['9.1'].call('POST', '/nodes/pve/qemu/100/agent/fstrim', { auth: { token: ga9 } })).reason).toBe(
      'Permission check failed (/vms/100, VM.GuestAgent.FileSystemMgmt|VM.GuestAgent.Unrestricted)',
    );
    const audit9 = await userWith(sims['9.1'], 'aud', 'VM.Audit');
    expect((await sims['9.1'].call('POST', '/nodes/pve/qemu/100/agent/ping', { auth: { token: audit9 } })).reason).toBe(
      'Permission check failed (/vms/100, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)',
    );
    const un9 = await userWith(sims['9.1'], 'un', 'VM.GuestAgent.Unrestricted');
    expect((await sims['9.1'].call('POST', '/nodes/pve/qemu/100/agent', { auth: { token: un9 }, body: { command: 'ping' } })).status).toBe(200);
    // the command index is open to every user on both
    expect((await sims['9.1'].call('GET', '/nodes/pve/qemu/100/agent', { auth: { token: audit9 } })).status).toBe(200);
    expect((await sims['8.4'].call('GET', '/nodes/pve/qemu/100/agent', { auth: { token: audit8 } })).status).toBe(200);
  });

  it('tags at create: 8.4 keeps them verbatim, 9.1 normalises them as updates do', async () => {
    for (const t of Object.values(sims)) await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: { vmid: 101, tags: 'Zeta;beta,alpha,beta' } }));
    expect((await sims['8.4'].data('GET', '/nodes/pve/qemu/101/config')).tags).toBe('Zeta;beta,alpha,beta');
    expect((await sims['9.1'].data('GET', '/nodes/pve/qemu/101/config')).tags).toBe('alpha;beta;zeta');
  });
});

describe('inventory and errors that changed within the releases', () => {
  it('cluster/resources: 8.4 lists the localnetwork zone as sdn rows, 9.1 as network rows', async () => {
    const types = async (t: TestSim, query?: string) => (await t.data('GET', '/cluster/resources', query ? { query } : {})).filter((r: { type: string }) => r.type === 'sdn' || r.type === 'network');
    expect(await types(sims['8.4'])).toEqual([{ id: 'sdn/pve/localnetwork', type: 'sdn', sdn: 'localnetwork', node: 'pve', status: 'ok' }]);
    expect(await types(sims['9.1'])).toEqual([{ id: 'network/pve/zone/localnetwork', type: 'network', 'network-type': 'zone', network: 'localnetwork', node: 'pve', status: 'ok' }]);
    expect(await types(sims['9.1'], 'type=sdn')).toEqual([]);
  });

  it('a bad token secret: the old reason before pve-manager 8.4.17 / 9.1.5, "Authentication failed!" from them on', async () => {
    const bad = (t: TestSim) => t.call('GET', '/version', { auth: { token: `PVEAPIToken=${t.sim.adminToken.id}=00000000-0000-0000-0000-000000000000` } });
    expect((await bad(sims['9.1'])).reason).toBe('invalid token value!');
    for (const pve of ['9.1.5', '8.4.17']) {
      const t = await startTestSim({ pve });
      try {
        expect((await t.data('GET', '/version')).version).toBe(pve);
        const r = await bad(t);
        expect([r.status, r.reason]).toEqual([401, 'Authentication failed!']);
      } finally {
        await t.close();
      }
    }
  });
});

describe('choosing the release', () => {
  it('an 8.4 lab restarted as 9.1 reads its custom roles without the privileges 9.x dropped', async () => {
    const t = await startTestSim();
    try {
      await t.data('POST', '/access/roles', { body: { roleid: 'LabVM', privs: 'VM.Audit,VM.Monitor,VM.PowerMgmt' } });
      await t.restart({ pve: '9.1' });
      expect(await t.data('GET', '/access/roles/LabVM')).toEqual({ 'VM.Audit': 1, 'VM.PowerMgmt': 1 });
      await t.data('PUT', '/access/roles/LabVM', { body: { privs: 'VM.GuestAgent.Audit', append: 1 } });
      await t.restart({ pve: '8.4' });
      // the 9.x update rewrote the role from what 9.x parsed: VM.Monitor is gone for good, and
      // 8.4 in turn ignores the privilege it does not know
      expect(await t.data('GET', '/access/roles/LabVM')).toEqual({ 'VM.Audit': 1, 'VM.PowerMgmt': 1 });
    } finally {
      await t.close();
    }
  });

  it('names: 9 is the newest 9.x, a full version is answered as given, anything else is refused', async () => {
    expect(pveRelease('9').release).toBe('9.1');
    expect(pveRelease('9.1.4').version).toBe('9.1.4');
    expect(pveRelease().version).toBe('8.4.1');
    try {
      await startSimulator({ stateDir: '/nonexistent/never-created', guests: new MemoryBackend(), pve: '7.4' });
      expect.unreachable();
    } catch (err) {
      expect(isLabError(err) && err.code).toBe('LAB_SIM_PVE_VERSION');
      expect(isLabError(err) && err.hint).toContain('8.4, 9.1');
    }
  });
});
