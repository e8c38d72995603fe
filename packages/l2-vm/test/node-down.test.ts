import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChanges, silentReporter } from '@lab/core';
import { apiPath, pveRecord, pveString } from '@lab/pve';
import { observeVms, waitForAgent } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

/**
 * adr/0161: a node that goes down and comes back mid-apply. The re-apply converges (the VM,
 * stopped by the outage, is started again) and the agent is waited for only while the VM boots.
 */
describe('node down and back mid-apply', () => {
  let fx: L2Fixture;
  const personas = () => fx.lab.personas.filter((p) => p.name === 'monitoring');
  const status = async (vmid: number) => pveString(pveRecord(await fx.client.get(apiPath('nodes', 'pve2', 'qemu', String(vmid), 'status', 'current')))['status']);
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('re-apply after the node returns starts the stopped VM and converges', async () => {
    // The start request is slow; the node drops out while it is in flight.
    const slow = fx.sim.faults.addLatency({ method: 'POST', path: /status\/start$/, ms: 1_500 });
    const apply = fx.apply(await fx.plan('normal', { personas: personas() })).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 400));
    await fx.sim.faults.setNodeDown('pve2', true);
    const err = await apply;
    fx.sim.faults.remove(slow);
    expect(err).toBeInstanceOf(Error);
    await fx.sim.faults.setNodeDown('pve2', false);
    // A node that lost power comes back with its VMs stopped.
    if ((await status(110)) === 'running') await fx.client.runTask('POST', apiPath('nodes', 'pve2', 'qemu', '110', 'status', 'stop'), undefined, { pollMs: 10 });
    const plan = await fx.plan('normal', { personas: personas() });
    expect(plan.changes[0]!.diff.find((f) => f.path === 'status')).toMatchObject({ before: 'stopped', after: 'running' });
    await fx.apply(plan, { lock: {} });
    expect(await status(110)).toBe('running');
    expect(hasChanges(await fx.plan('normal', { personas: personas() }))).toBe(false);
  }, 120_000);

  it('waits for the agent only while the VM boots: one found stopped is started, one long up with a silent agent fails at once', async () => {
    const o = { client: fx.client, reporter: silentReporter, pollMs: 20, taskPollMs: 10, bootBudgetMs: 500 };
    await fx.client.runTask('POST', apiPath('nodes', 'pve2', 'qemu', '110', 'status', 'stop'), undefined, { pollMs: 10 });
    await waitForAgent({ ...o, bootBudgetMs: 20_000 }, 'pve2', 110, 'monitoring');
    expect(await status(110)).toBe('running');
    // Up for longer than the boot budget, agent silent: no wait for a fixed time-out.
    await new Promise((r) => setTimeout(r, 1_600));
    fx.sim.faults.delayAgent(3_600_000, 110);
    const t0 = Date.now();
    const err = await waitForAgent(o, 'pve2', 110, 'monitoring').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LAB_L2_AGENT_TIMEOUT' });
    expect((err as { summary: string }).summary).toMatch(/has been running for \d+s/);
    // Behaviour, not speed: it gave up on the first status read, long before the hour.
    expect(Date.now() - t0).toBeLessThan(3_600_000);
    const obs = await observeVms(fx.client, { personas: ['monitoring'] });
    expect(obs.managed.get('monitoring')!.status).toBe('running');
  }, 120_000);
});

describe('Proxmox per-VM locks', () => {
  let fx: L2Fixture;
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('an update waits for a VM lock (a backup running) to clear instead of writing into it', async () => {
    const personas = () => fx.lab.personas.filter((p) => p.name === 'monitoring');
    await fx.apply(await fx.plan('normal', { personas: personas() }));
    await fx.client.put(apiPath('nodes', 'pve2', 'qemu', '110', 'config'), { cores: 1 });
    await fx.sim.faults.holdLock(110, 'backup');
    const plan = await fx.plan('normal', { personas: personas() });
    expect(plan.changes[0]!.action).toBe('update');
    setTimeout(() => void fx.sim.faults.releaseLock(110), 300);
    await fx.apply(plan, { lock: {} });
    expect(hasChanges(await fx.plan('normal', { personas: personas() }))).toBe(false);
  }, 120_000);
});
