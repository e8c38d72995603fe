import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChanges, summarizePlan, isLabError } from '@lab/core';
import { apiPath, pveArray, pveRecord, pveString } from '@lab/pve';
import { HOLDER_VMID, observeVms, readVm } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

describe('L2 against the simulator (example personas)', () => {
  let fx: L2Fixture;
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('creates every example persona, then plans no changes (idempotent)', async () => {
    const first = await fx.plan();
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(summarizePlan(first).create).toBe(fx.lab.personas.length);
    await fx.apply(first);
    const again = await fx.plan();
    expect(again.changes.filter((c) => c.action !== 'noop').map((c) => ({ a: c.address, d: c.diff }))).toEqual([]);
    expect(hasChanges(again)).toBe(false);
    const obs = await observeVms(fx.client, { personas: fx.lab.personas.map((p) => p.name) });
    expect(obs.managed.size).toBe(fx.lab.personas.length);
    expect(obs.calls).toBe(1 + 2 * fx.lab.personas.length);
    for (const p of fx.lab.personas) {
      const vm = obs.managed.get(p.name)!;
      expect(vm.status).toBe('running');
      if (p.persona.vm.vmid !== undefined) expect(vm.vmid).toBe(p.persona.vm.vmid);
      if (p.persona.vm.node !== 'auto') expect(vm.node).toBe(p.persona.vm.node);
      expect(vm.config['tags']).toContain(`lab-persona-${p.name}`);
    }
    const known = await readFile(fx.knownHosts, 'utf8');
    for (const p of fx.lab.personas) expect(known).toMatch(new RegExp(`^${p.name} ssh-ed25519 `, 'm'));
    // Inherited template keys (scsihw, serial0, vga, ostype…) are not owned: no drift from them.
    const edge = obs.managed.get('edge')!;
    expect(edge.config['scsihw']).toBe('virtio-scsi-single');
  }, 120_000);

  it('shows impacts from Proxmox rules and leaves reboot changes pending without --allow-reboot', async () => {
    const obs = await observeVms(fx.client, { personas: ['tinker'] });
    const vm = obs.managed.get('tinker')!;
    const mem = Number(vm.config['memory']);
    const cores = Number(vm.config['cores']);
    // Someone changed the VM by hand: drift on owned keys only.
    await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { memory: mem - 512, cores: cores + 2, vga: 'std' });
    const tinker = fx.lab.personas.filter((p) => p.name === 'tinker');
    const plan = await fx.plan('normal', { personas: tinker });
    const change = plan.changes[0]!;
    expect(change.action).toBe('update');
    const byPath = Object.fromEntries(change.diff.map((f) => [f.path, f]));
    expect(byPath['vga']).toBeUndefined();
    expect(byPath['cores']?.impact).toBe('reboot');
    // Restoring the memory is a grow, and lab turns on memory hotplug at creation.
    expect(byPath['memory']?.impact).toBe('hotplug');
    expect(change.impact).toBe('reboot');
    expect(plan.diagnostics.map((d) => d.code)).toContain('LAB_L2_REBOOT_PENDING');
    await fx.apply(plan);
    const pending = await fx.plan('normal', { personas: tinker });
    expect(pending.changes[0]!.diff.every((f) => f.note === 'pending until reboot')).toBe(true);
    const rebooting = await fx.plan('normal', { personas: tinker, allowReboot: true });
    await fx.apply(rebooting);
    expect(hasChanges(await fx.plan('normal', { personas: tinker }))).toBe(false);
  }, 60_000);

  it('grows memory as a hotplug and refuses a disk shrink', async () => {
    const obs = await observeVms(fx.client, { personas: ['media'] });
    const vm = obs.managed.get('media')!;
    const mem = Number(vm.config['memory']);
    await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { memory: mem - 2048 });
    const media = fx.lab.personas.filter((p) => p.name === 'media');
    const plan = await fx.plan('normal', { personas: media });
    const f = plan.changes[0]!.diff.find((x) => x.path === 'memory')!;
    expect(f.impact).toBe('hotplug');
    expect(f.before).toBe(`${mem - 2048}MiB`);
    await fx.apply(plan);
    expect(hasChanges(await fx.plan('normal', { personas: media }))).toBe(false);
    const root = fx.desired(media)[0]!.disks.find((d) => d.name === 'root')!;
    await fx.client.runTask('PUT', apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'resize'), { disk: 'scsi0', size: `${root.size / 2 ** 30 + 8}G` }, { pollMs: 10 });
    const shrink = await fx.plan('normal', { personas: media });
    expect(shrink.diagnostics.map((d) => d.code)).toContain('LAB_L2_DISK_SHRINK');
    expect(shrink.changes[0]!.diff.find((x) => x.path === 'disk.root.size')?.note).toBe('shrink refused');
  }, 60_000);

  it('refuses a stale saved plan (LAB_PLAN_STALE)', async () => {
    const monitoring = fx.lab.personas.filter((p) => p.name === 'monitoring');
    const obs = await observeVms(fx.client, { personas: ['monitoring'] });
    const vm = obs.managed.get('monitoring')!;
    await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { onboot: 0 });
    const saved = JSON.parse(JSON.stringify(await fx.plan('normal', { personas: monitoring })));
    await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { cores: 7 });
    await expect(fx.apply(saved)).rejects.toMatchObject({ code: 'LAB_PLAN_STALE' });
    await fx.apply(await fx.plan('normal', { personas: monitoring, allowReboot: true }));
    expect(hasChanges(await fx.plan('normal', { personas: monitoring }))).toBe(false);
  }, 60_000);

  it('destroy refuses protection=1 and keeps persistent data disks unless --destroy-data', async () => {
    const identity = fx.lab.personas.filter((p) => p.name === 'identity');
    const refused = await fx.plan('destroy', { personas: identity });
    expect(refused.diagnostics.map((d) => d.code)).toContain('LAB_L2_PROTECTED');
    const obs = await observeVms(fx.client, { personas: ['identity'] });
    const vm = obs.managed.get('identity')!;
    await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { protection: 0 });
    const plan = await fx.plan('destroy', { personas: identity });
    expect(plan.changes[0]!.action).toBe('delete');
    expect(plan.changes[0]!.diff.find((f) => f.path === 'disk.data')?.note).toBe('detached and retained');
    expect(plan.changes[0]!.impact).not.toBe('data-loss');
    await fx.apply(plan);
    const holder = async (): Promise<string[]> =>
      pveArray(await fx.client.get(apiPath('nodes', vm.node, 'storage', 'local-lvm', 'content'), { vmid: HOLDER_VMID })).map((r) => pveString(pveRecord(r)['volid'])!).filter((v) => v.includes('-lab_identity_'));
    expect(await holder()).toEqual(['local-lvm:vm-999999999-lab_identity_data']);
    // Re-create: the retained disk comes back.
    await fx.apply(await fx.plan('normal', { personas: identity }));
    const back = (await observeVms(fx.client, { personas: ['identity'] })).managed.get('identity')!;
    expect(back.config['scsi1']).toMatch(/^local-lvm:vm-999999999-lab_identity_data,/);
    await fx.client.put(apiPath('nodes', back.node, 'qemu', String(back.vmid), 'config'), { protection: 0 });
    const lossy = await fx.plan('destroy', { personas: identity, destroyData: true });
    expect(lossy.changes[0]!.impact).toBe('data-loss');
    await fx.apply(lossy);
    expect(await holder()).toEqual([]);
    const read = await readVm(fx.client, back.node, back.vmid).catch((e: unknown) => e);
    expect(isLabError(read)).toBe(true);
  }, 60_000);
});

describe('per-persona cluster lock', () => {
  let fx: L2Fixture;
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('lets only one apply act, releases on exit, and is stolen after its expiry', async () => {
    const { acquireLock } = await import('../src/index.js');
    const a = await acquireLock(fx.client, 'tinker', { owner: 'a', ttlMs: 60_000 });
    await expect(acquireLock(fx.client, 'tinker', { owner: 'b' })).rejects.toMatchObject({ code: 'LAB_L2_LOCKED' });
    const plan = await fx.plan('normal', { personas: fx.lab.personas.filter((p) => p.name === 'tinker') });
    await expect(fx.apply(plan)).rejects.toMatchObject({ code: 'LAB_L2_LOCKED' });
    await a.release();
    const b = await acquireLock(fx.client, 'tinker', { owner: 'b', ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const c = await acquireLock(fx.client, 'tinker', { owner: 'c' });
    await b.release(); // no longer b's: must not remove c's lock
    await expect(acquireLock(fx.client, 'tinker', { owner: 'd' })).rejects.toMatchObject({ code: 'LAB_L2_LOCKED' });
    await c.release();
    await fx.apply(plan);
  }, 60_000);
});
