import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryReporter, hasChanges, Secret, type Plan } from '@lab/core';
import { l0Adapter } from '../src/layers/l0.js';
import type { LayerContext, ProxmoxEndpoint } from '../src/layers/adapter.js';
import { startFixture, type Fixture } from '../../l0-host/test/_fixture.js';

// The CLI adapter of L0, driven the way `lab plan|check|apply --layer l0` drives it.
let f: Fixture;
let endpoint: ProxmoxEndpoint;
const closers: (() => unknown)[] = [];
beforeAll(async () => {
  f = await startFixture();
  endpoint = { url: f.sim.url, fingerprint: f.sim.fingerprint, tokenId: f.sim.adminToken.id, tokenSecret: new Secret(f.sim.adminToken.secret), embedded: true };
});
afterAll(async () => {
  for (const c of closers) await c();
  await f.close();
});

function ctx(): LayerContext & { reporter: ReturnType<typeof createMemoryReporter> } {
  return {
    lab: f.lab,
    personas: f.lab.personas,
    reporter: createMemoryReporter(),
    labVersion: '0.0.0-test',
    flags: { allowReboot: false, destroyData: false, targets: [] },
    secrets: () => f.store,
    proxmox: async () => endpoint,
    onClose: (fn) => void closers.push(fn),
  };
}

describe('L0 adapter', () => {
  let plan: Plan;
  it('plans with the endpoint the CLI resolved (the simulator admin token)', async () => {
    plan = await l0Adapter.plan(ctx(), 'normal');
    expect(plan.layers).toEqual(['l0']);
    expect(hasChanges(plan)).toBe(true);
    expect(plan.basis['_site/l0/observer']).toBe('root@pam!lab-admin');
  });

  it('applies, stores the token secret, and the next plan — with the lab token — is empty', async () => {
    const c = ctx();
    await l0Adapter.apply(plan, c);
    expect(c.reporter.events.some((e) => e.type === 'log' && e.message.includes('stored encrypted as site/pve-token'))).toBe(true);
    endpoint = { ...endpoint, tokenId: 'lab@pve!lab', tokenSecret: await f.store.get('site/pve-token') };
    expect(hasChanges(await l0Adapter.plan(ctx(), 'normal'))).toBe(false);
    const check = ctx();
    const checked = await l0Adapter.plan(check, 'check');
    expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(check.reporter.events.filter((e) => e.type === 'log' && e.message.startsWith('✓')).length).toBeGreaterThan(20);
  });

  it('check mode with a lab token lacking a privilege fails with that privilege named', async () => {
    const admin = f.admin();
    await admin.put('/access/acl', { path: '/nodes/pve2', roles: 'LabNode', tokens: 'lab@pve!lab', delete: true });
    const checked = await l0Adapter.plan(ctx(), 'check');
    const errors = checked.diagnostics.filter((d) => d.severity === 'error').map((d) => d.address);
    expect(errors).toEqual(expect.arrayContaining(['_site/l0/privilege[/nodes/pve2:Sys.Audit]', '_site/l0/privilege[/nodes/pve2:Sys.AccessNetwork]', '_site/l0/acl[/nodes/pve2]']));
    // Applying needs admin rights the lab token does not have.
    const err = await l0Adapter.apply(await l0Adapter.plan(ctx(), 'normal'), ctx()).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('LAB_L0_ADMIN_REQUIRED');
    process.env['LAB_PVE_ADMIN_TOKEN'] = `${f.sim.adminToken.id}=${f.sim.adminToken.secret}`;
    try {
      await l0Adapter.apply(await l0Adapter.plan(ctx(), 'normal'), ctx());
      expect((await l0Adapter.plan(ctx(), 'check')).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      delete process.env['LAB_PVE_ADMIN_TOKEN'];
    }
  });
});
