import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryReporter, hasChanges, isLabError } from '@lab/core';
import type { PveClient } from '@lab/pve';
import { observeVms, type Limiter } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

/**
 * adr/0160 and adr/0161: the example personas are created side by side within the
 * `parallelism` bounds; a VM that fails leaves the others applied and a re-run converges; the
 * apply re-reads the cluster and fails `LAB_L2_NOT_CONVERGED` when it does not show what was
 * applied.
 */
describe('L2 applies VMs side by side', () => {
  let fx: L2Fixture;
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('runs creates concurrently within the bounds, one failure leaves the others applied, a re-run converges', async () => {
    const fault = fx.sim.faults.failTask({ type: 'qmstart', id: 100, message: 'start failed: injected (edge)' });
    let limiter: Limiter | undefined;
    const reporter = createMemoryReporter();
    const plan = await fx.plan();
    const err = await fx.apply(plan, { parallelism: { vms: 3, perNode: 1 }, onLimiter: (l) => (limiter = l), reporter }).catch((e: unknown) => e);
    fx.sim.faults.remove(fault);
    // Only edge failed, with its own error (its VM is made but stopped); the others are there and running.
    expect(isLabError(err) ? err.summary : String(err)).toMatch(/start failed: injected/);
    const obs = await observeVms(fx.client, { personas: fx.lab.personas.map((p) => p.name) });
    expect([...obs.managed.keys()].sort()).toEqual(fx.lab.personas.map((p) => p.name).sort());
    for (const vm of obs.managed.values()) expect(vm.status).toBe(vm.persona === 'edge' ? 'stopped' : 'running');
    // Side by side, within the bounds.
    expect(limiter!.peak.overall).toBeGreaterThan(1);
    expect(limiter!.peak.overall).toBeLessThanOrEqual(3);
    for (const n of limiter!.peak.perNode.values()) expect(n).toBeLessThanOrEqual(1);
    // Output grouped per persona: every step of a VM carries its persona.
    const starts = reporter.events.filter((e) => e.type === 'step.start') as { title: string; group?: string }[];
    for (const p of fx.lab.personas) expect(starts.some((s) => s.group === p.name && s.title.includes(p.name))).toBe(true);
    // The VMs carry the tag of the template they came from (adr/0164).
    for (const vm of obs.managed.values()) expect(vm.config['tags']).toMatch(/(^|;)lab-image-debian-12-/);
    // A re-run creates edge and converges.
    await fx.apply(await fx.plan());
    const again = await fx.plan();
    expect(hasChanges(again)).toBe(false);
  }, 180_000);

  it('several failures are reported together, naming each VM', async () => {
    const personas = fx.lab.personas.filter((p) => p.name === 'monitoring' || p.name === 'media');
    await fx.apply(await fx.plan('destroy', { personas }));
    const f1 = fx.sim.faults.failTask({ type: 'qmstart', id: 110, message: 'no space left (monitoring)' });
    const f2 = fx.sim.faults.failTask({ type: 'qmstart', id: 120, message: 'no space left (media)' });
    const err = await fx.apply(await fx.plan('normal', { personas })).catch((e: unknown) => e);
    fx.sim.faults.remove(f1);
    fx.sim.faults.remove(f2);
    expect(err).toMatchObject({ code: 'LAB_L2_APPLY_FAILED' });
    expect((err as { detail: string }).detail).toMatch(/^monitoring: .*no space left \(monitoring\)/m);
    expect((err as { detail: string }).detail).toMatch(/^media: .*no space left \(media\)/m);
    await fx.apply(await fx.plan('normal', { personas }));
    expect(hasChanges(await fx.plan('normal', { personas }))).toBe(false);
  }, 180_000);

  it('re-verifies: a value the cluster does not keep fails LAB_L2_NOT_CONVERGED naming the VM and key', async () => {
    const personas = fx.lab.personas.filter((p) => p.name === 'tinker');
    await fx.apply(await fx.plan('destroy', { personas }));
    // A Proxmox that silently drops `ciuser` from every config write.
    const lossy = new Proxy(fx.client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'put' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return (path: string, params?: Record<string, unknown>) => {
          const { ciuser: _dropped, ...rest } = params ?? {};
          return (value as (p: string, b: unknown) => Promise<unknown>).call(target, path, rest);
        };
      },
    }) as PveClient;
    const plan = await fx.plan('normal', { personas });
    expect((plan.changes[0]!.after as { config: Record<string, string> }).config["ciuser"]).toBe("lab");
    const err = await fx.apply(plan, { client: lossy }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LAB_L2_NOT_CONVERGED' });
    expect((err as { summary: string }).summary).toMatch(/tinker \(VM \d+\) ciuser/);
    await fx.apply(await fx.plan('normal', { personas }));
    expect(hasChanges(await fx.plan('normal', { personas }))).toBe(false);
  }, 120_000);
});
