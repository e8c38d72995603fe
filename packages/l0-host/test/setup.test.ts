import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryReporter, hasChanges, isLabError, type Plan } from '@lab/core';
import type { PveClient } from '@lab/pve';
import {
  applyHost,
  assertHostReady,
  basisOf,
  checkHost,
  observeHost,
  planHost,
  renderHostReport,
  type HostIntent,
} from '../src/index.js';
import { startFixture, type Fixture } from './_fixture.js';

let f: Fixture;
let intent: HostIntent;
let admin: PveClient;
const SUBJECT = 'lab@pve!lab';

beforeAll(async () => {
  f = await startFixture();
  intent = { site: f.lab.site.site, personas: f.lab.personas };
  admin = f.admin();
});
afterAll(() => f.close());

async function planWith(client: PveClient, mode: 'normal' | 'check' = 'normal'): Promise<Plan> {
  const obs = await observeHost(client, intent, { subject: SUBJECT });
  return planHost(intent, obs, { mode, labVersion: '0.0.0-test', secretStored: await f.store.has('site/pve-token') });
}

async function apply(plan: Plan) {
  return applyHost(plan, {
    admin,
    reporter: createMemoryReporter(),
    currentBasis: async () => basisOf(await observeHost(admin, intent, { subject: SUBJECT })),
    storeSecret: (name, secret) => f.store.set(name, secret),
    verify: () => planWith(admin),
  });
}

describe('L0 on a fresh site', () => {
  let first: Plan;

  it('plans the least-privilege setup and reports nothing it cannot fix', async () => {
    first = await planWith(admin);
    const pending = first.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`);
    expect(pending).toEqual(
      expect.arrayContaining([
        'create _site/l0/role[LabVM]',
        'create _site/l0/role[LabDiskStore]',
        'create _site/l0/role[LabImageStore]',
        'create _site/l0/role[LabBackupStore]',
        'create _site/l0/role[LabNode]',
        'create _site/l0/role[LabNetwork]',
        'create _site/l0/user[lab@pve]',
        'create _site/l0/token[lab@pve!lab]',
        'create _site/l0/pool[homelab-stable]',
        'create _site/l0/pool[homelab-experimental]',
        'update _site/l0/storage[local]',
        'create _site/l0/acl[/vms]',
        'create _site/l0/acl[/storage/local]',
        'create _site/l0/acl[/storage/local-lvm]',
        'create _site/l0/acl[/nodes/pve1]',
        'create _site/l0/acl[/sdn/zones/localnetwork/vmbr0]',
      ]),
    );
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const storage = first.changes.find((c) => c.address === '_site/l0/storage[local]')!;
    expect(storage.diff).toEqual([{ path: 'content', before: 'backup,iso,vztmpl', after: 'backup,import,iso,vztmpl' }]);
    // The plan never carries a token secret.
    expect(JSON.stringify(first)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });

  it('check mode reports the same gaps as errors: the host is not ready yet', async () => {
    const check = await planWith(admin, 'check');
    const codes = new Set(check.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code));
    expect([...codes]).toEqual(expect.arrayContaining(['LAB_L0_ROLE', 'LAB_L0_TOKEN', 'LAB_L0_POOL', 'LAB_L0_STORAGE_CONTENT', 'LAB_L0_PRIVILEGE']));
  });

  it('applies it, storing the token secret only in the encrypted store', async () => {
    const reporter = createMemoryReporter();
    const result = await applyHost(first, {
      admin,
      reporter,
      currentBasis: async () => basisOf(await observeHost(admin, intent, { subject: SUBJECT })),
      storeSecret: (name, secret) => f.store.set(name, secret),
      verify: () => planWith(admin),
    });
    expect(result.token).toMatchObject({ tokenId: SUBJECT, secretName: 'site/pve-token', stored: true });
    expect(result.token?.secret).toBeUndefined();
    expect(hasChanges(result.verification)).toBe(false);
    const secret = await f.store.get('site/pve-token');
    expect(secret.reveal()).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(reporter.events)).not.toContain(secret.reveal());
    expect(reporter.events.filter((e) => e.type === 'step.end').every((e) => e.type === 'step.end' && e.status === 'ok')).toBe(true);
  });

  it('a second plan has no changes, with the admin and with the lab token itself', async () => {
    expect(hasChanges(await planWith(admin))).toBe(false);
    const lab = f.token(SUBJECT, await f.store.get('site/pve-token'));
    const own = await planWith(lab);
    expect(own.changes.filter((c) => c.action !== 'noop')).toEqual([]);
    expect(own.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('the lab token passes the readiness check L1–L4 run', async () => {
    const lab = f.token(SUBJECT, await f.store.get('site/pve-token'));
    const report = await assertHostReady(lab, intent);
    expect(report.ok).toBe(true);
    expect(report.exitCode).toBe(0);
    const text = renderHostReport(report);
    expect(text).toContain(`✓ Proxmox VE ${f.sim.version}`);
    expect(text).toContain('Host ready');
    expect(JSON.parse(JSON.stringify(report)).items.length).toBe(report.items.length);
  });

  it('the token is privilege-separated and cannot administer users', async () => {
    const lab = f.token(SUBJECT, await f.store.get('site/pve-token'));
    const err = await lab.post('/access/users', { userid: 'evil@pve' }).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PVE_PERMISSION');
    const t = (await admin.get('/access/users/lab@pve/token/lab')) as { privsep: number };
    expect(t.privsep).toBe(1);
  });
});

describe('L0 finds what is wrong', () => {
  it('lists exactly which privilege on which path the token lacks', async () => {
    const lab = f.token(SUBJECT, await f.store.get('site/pve-token'));
    const privs = ((await admin.get('/access/roles/LabVM')) as Record<string, number>);
    const without = Object.keys(privs).filter((p) => p !== 'VM.Allocate' && p !== 'VM.Clone');
    await admin.put('/access/roles/LabVM', { privs: without.join(',') });
    try {
      const { report } = await checkHost(lab, intent);
      expect(report.ok).toBe(false);
      const missing = report.items.filter((i) => i.kind === 'privilege' && i.status === 'fail').map((i) => i.address).sort();
      expect(missing).toEqual([
        '_site/l0/privilege[/pool/homelab-experimental:VM.Allocate]',
        '_site/l0/privilege[/pool/homelab-experimental:VM.Clone]',
        '_site/l0/privilege[/pool/homelab-stable:VM.Allocate]',
        '_site/l0/privilege[/pool/homelab-stable:VM.Clone]',
        '_site/l0/privilege[/vms:VM.Allocate]',
        '_site/l0/privilege[/vms:VM.Clone]',
      ]);
      const err = await assertHostReady(lab, intent).catch((e: unknown) => e);
      expect(isLabError(err) && err.code).toBe('LAB_L0_NOT_READY');
      expect(isLabError(err) && err.diagnostics.map((d) => d.summary)).toContain('lab@pve!lab lacks VM.Allocate on /vms (VM lifecycle)');
      // Planned with the lab token itself: the role is updated, the privileges come back with it.
      const plan = await planWith(lab);
      expect(plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address)).toEqual(
        expect.arrayContaining(['_site/l0/role[LabVM]', '_site/l0/acl[/vms]']),
      );
      // The lab token may not fix it itself.
      const denied = await applyHost(plan, {
        admin: lab,
        reporter: createMemoryReporter(),
        currentBasis: async () => basisOf(await observeHost(lab, intent, { subject: SUBJECT })),
        verify: () => planWith(lab),
      }).catch((e: unknown) => e);
      expect(isLabError(denied) && denied.code).toBe('LAB_L0_ADMIN_REQUIRED');
      await apply(await planWith(admin));
      expect((await checkHost(lab, intent)).report.ok).toBe(true);
    } finally {
      await admin.put('/access/roles/LabVM', { privs: Object.keys(privs).join(',') });
    }
  });

  it('reports a bridge that does not exist and one that is not VLAN-aware', async () => {
    const withVmbr1: HostIntent = {
      site: { ...intent.site, bridges: [...intent.site.bridges, { name: 'vmbr1', vlanAware: false, vlans: [] }] },
      personas: intent.personas,
    };
    await admin.put('/nodes/pve2/network/vmbr0', { type: 'bridge', bridge_vlan_aware: false });
    await admin.runTask('PUT', '/nodes/pve2/network');
    try {
      const { report } = await checkHost(admin, withVmbr1);
      const bridges = report.items.filter((i) => i.kind === 'bridge' && i.status === 'fail');
      expect(bridges.map((b) => [b.code, b.summary])).toEqual([
        ['LAB_L0_BRIDGE_VLAN', 'bridge vmbr0 is not VLAN-aware on pve2 but personas use VLAN 10, 20 on it'],
        ['LAB_L0_BRIDGE_MISSING', 'bridge vmbr1 does not exist on pve1, pve2, pve3'],
      ]);
      expect(bridges[0]!.hint).toContain('bridge-vlan-aware yes');
    } finally {
      await admin.put('/nodes/pve2/network/vmbr0', { type: 'bridge', bridge_vlan_aware: true });
      await admin.runTask('PUT', '/nodes/pve2/network');
    }
  });

  it('reports a node that is down and checks the rest', async () => {
    await f.sim.faults.setNodeDown('pve3', true);
    try {
      const { report } = await checkHost(admin, intent);
      const node = report.items.find((i) => i.address === '_site/l0/node[pve3]')!;
      expect(node).toMatchObject({ status: 'fail', code: 'LAB_L0_NODE_DOWN', summary: 'node pve3 is offline' });
      expect(report.items.find((i) => i.address === '_site/l0/node[pve1]')?.status).toBe('ok');
      expect(report.items.filter((i) => i.status === 'fail').map((i) => i.address)).toEqual(['_site/l0/node[pve3]']);
    } finally {
      await f.sim.faults.setNodeDown('pve3', false);
    }
  });

  it('refuses a wrong certificate fingerprint with the TLS pin error', async () => {
    const wrong = `00:${f.sim.fingerprint!.slice(3)}`;
    const lab = f.token(SUBJECT, await f.store.get('site/pve-token'), { fingerprint: wrong });
    const { report } = await checkHost(lab, intent);
    expect(report.items).toHaveLength(1);
    expect(report.items[0]).toMatchObject({ address: '_site/l0/api', status: 'fail', code: 'LAB_PVE_TLS_PIN' });
    expect(renderHostReport(report)).toContain('does not match the fingerprint pinned in lab.yaml');
    const err = await assertHostReady(lab, intent).catch((e: unknown) => e);
    expect(isLabError(err) && err.diagnostics[0]?.code).toBe('LAB_PVE_TLS_PIN');
  });

  it('refuses to apply a stale plan', async () => {
    const plan = await planWith(admin);
    const stale = { ...plan, changes: [...plan.changes, { ...plan.changes[0]!, action: 'create' as const }] };
    await admin.post('/pools', { poolid: 'someone-else' });
    const err = await apply(stale).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LAB_PLAN_STALE');
  });
});

describe('planning L1–L4 before L0 is applied', () => {
  it('assertHostReady can tolerate what L0 apply fixes, but not what it cannot', async () => {
    const g = await startFixture();
    try {
      const i: HostIntent = { site: g.lab.site.site, personas: g.lab.personas };
      const a = g.admin();
      await expect(assertHostReady(a, i)).rejects.toMatchObject({ code: 'LAB_L0_NOT_READY' });
      await expect(assertHostReady(a, i, { allowPendingSetup: true })).resolves.toMatchObject({ ok: false });
      await g.sim.faults.setNodeDown('pve2', true);
      const err = await assertHostReady(a, i, { allowPendingSetup: true }).catch((e: unknown) => e);
      expect(isLabError(err) && err.diagnostics.map((d) => d.code)).toEqual(['LAB_L0_NODE_DOWN']);
    } finally {
      await g.close();
    }
  });
});
