import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryReporter, Secret, type Plan } from '@lab/core';
import { createPveClient, parsePveVersion, type PveClient } from '@lab/pve';
import { createNoneBackend, startSimulator, type RunningSimulator } from '@lab/pve-sim';
import { applyHost, basisOf, checkHost, observeHost, planHost, type HostIntent } from '../src/index.js';
import { roleDiffSummary } from '../src/role-diff.js';
import { startFixture, type Fixture } from './_fixture.js';

// L0 against the simulator speaking Proxmox VE 8.4 and 9.1 (issue #17): the least-privilege role
// set is computed for the release it finds, so apply converges on both, and a role made on 8.x
// is named for what it lacks once the cluster runs 9.x.

const SUBJECT = 'lab@pve!lab';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function planWith(f: Fixture, client: PveClient, mode: 'normal' | 'check' = 'normal'): Promise<Plan> {
  const intent: HostIntent = { site: f.lab.site.site, personas: f.lab.personas };
  const obs = await observeHost(client, intent, { subject: SUBJECT });
  return planHost(intent, obs, { mode, labVersion: '0.0.0-test', secretStored: await f.store.has('site/pve-token') });
}

async function applyWith(f: Fixture, admin: PveClient): Promise<void> {
  const intent: HostIntent = { site: f.lab.site.site, personas: f.lab.personas };
  await applyHost(await planWith(f, admin), {
    admin,
    reporter: createMemoryReporter(),
    currentBasis: async () => basisOf(await observeHost(admin, intent, { subject: SUBJECT })),
    storeSecret: (name, secret) => f.store.set(name, secret),
    verify: () => planWith(f, admin),
  });
}

function clientOf(sim: RunningSimulator, tokenId: string, secret: string): PveClient {
  return createPveClient({ url: sim.url, fingerprint: sim.fingerprint, auth: { kind: 'token', tokenId, secret: new Secret(secret) }, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
}

describe.each(['8.4', '9.1'])('L0 on Proxmox VE %s', (pve) => {
  it('apply converges with the release’s role set; the lab token then passes the check', async () => {
    const f = await startFixture({ sim: { pve } });
    cleanups.push(() => f.close());
    const admin = f.admin();
    await applyWith(f, admin);
    expect((await planWith(f, admin)).changes.filter((c) => c.action !== 'noop')).toEqual([]);

    const roles = (await admin.get('/access/roles')) as { roleid: string; privs: string }[];
    const labVm = roles.find((r) => r.roleid === 'LabVM')!.privs.split(',');
    if (pve === '9.1') {
      expect(labVm).toContain('VM.GuestAgent.Audit');
      expect(labVm).not.toContain('VM.Monitor');
    } else {
      expect(labVm).toContain('VM.Monitor');
      expect(labVm.some((p) => p.startsWith('VM.GuestAgent.'))).toBe(false);
    }
    const token = f.token(SUBJECT, await f.store.get('site/pve-token'));
    const { report } = await checkHost(token, { site: f.lab.site.site, personas: f.lab.personas }, { subject: SUBJECT });
    expect(report.items.filter((i) => i.status === 'fail')).toEqual([]);
    expect(report.version?.release).toBe(pve);
  });
});

describe('an 8.x lab on a cluster upgraded to 9.x', () => {
  it('check names what the 8.x-era role lacks; apply brings it to the 9.x set', async () => {
    const f = await startFixture({ sim: { pve: '8.4' } });
    cleanups.push(() => f.close());
    await applyWith(f, f.admin());
    // The "upgrade": the same cluster state, now served as 9.1.
    const stateDir = path.join(path.dirname(f.root), 'sim');
    await f.sim.close();
    const sim9 = await startSimulator({ stateDir, guests: createNoneBackend(), nodes: ['pve1', 'pve2', 'pve3'], seed: 'l0', timing: 'fast', pve: '9.1' });
    cleanups.push(() => sim9.close());
    const admin9 = clientOf(sim9, sim9.adminToken.id, sim9.adminToken.secret);
    cleanups.push(() => admin9.close());

    const check = await planWith(f, admin9, 'check');
    const role = check.diagnostics.find((d) => d.address === '_site/l0/role[LabVM]');
    expect(role?.summary).toBe('role LabVM lacks VM.GuestAgent.Audit (Proxmox VE 9 replaced VM.Monitor with VM.GuestAgent.*: the role was made for 8.x)');

    await applyWith(f, admin9);
    expect((await planWith(f, admin9)).changes.filter((c) => c.action !== 'noop')).toEqual([]);
  });
});

describe('role differences in words (pure)', () => {
  const v9 = parsePveVersion('9.1.1')!;
  const v8 = parsePveVersion('8.4.1')!;
  it('names a privilege the found release no longer has, and what lab does not need', () => {
    expect(roleDiffSummary('LabVM', ['VM.Audit', 'VM.Monitor', 'VM.Console'], ['VM.Audit', 'VM.GuestAgent.Audit'], v9)).toBe(
      'role LabVM lacks VM.GuestAgent.Audit (Proxmox VE 9 replaced VM.Monitor with VM.GuestAgent.*: the role was made for 8.x) and holds VM.Monitor, which Proxmox VE 9.1 no longer has, and VM.Console, which lab does not need',
    );
    expect(roleDiffSummary('LabVM', ['VM.Audit'], ['VM.Audit', 'VM.Monitor'], v8)).toBe('role LabVM lacks VM.Monitor (Proxmox VE 8.4 guards the guest agent with VM.Monitor: the role was made for 9.x)');
  });
});
