import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChanges } from '@lab/core';
import { apiPath, parseUpid, pveArray, pveRecord, pveString } from '@lab/pve';
import type { PveClient } from '@lab/pve';
import type { SimEvent } from '@lab/pve-sim';
import type { ApplyVmsContext, SnippetWriter } from '../src/index.js';
import { HOLDER_VMID, observeVms, parseResources } from '../src/index.js';
import { startL2, type L2Fixture } from './_fixture.js';

/**
 * Fault tolerance, exhaustively: record the Proxmox calls of a clean create, update and destroy
 * of `media` (it has a persistent data disk), then for every call in turn inject a 5xx, a
 * config-lock timeout (mutations) and, for every task the run starts, a task error; apply,
 * then re-run apply without faults and check it converged: one VM (or none after destroy), no
 * orphan volume, the data disk present exactly once and never recreated. A killed process is
 * swept too: after the simulator has seen call N the apply gets no answer and makes no call again
 * (no `finally`, so its cluster lock stays behind as a dead process leaves it).
 */
type Phase = 'create' | 'update' | 'destroy';
const PERSONA = 'media';
let schedules = 0;
let kills = 0;

describe('L2 fault sweep', () => {
  let fx: L2Fixture;
  let calls: { method: string; path: string }[] = [];
  let tasks: string[] = [];
  const personas = () => fx.lab.personas.filter((p) => p.name === PERSONA);
  const apply = async (mode: 'normal' | 'destroy', extra: Partial<ApplyVmsContext> = {}) => fx.apply(await fx.plan(mode, { personas: personas(), allowReboot: true }), { lock: { ttlMs: 0 }, ...extra });
  // Kill switch: once the simulator has seen `killAt` calls, the process is "dead".
  let killAt: number | undefined;
  let seen = 0;
  let killed = false;
  const dead = (): Error => new Error('process killed');

  /** The client and snippet writer of a process that dies at call `n` of its apply. */
  function mortal(n: number): Partial<ApplyVmsContext> {
    killAt = n;
    seen = 0;
    killed = false;
    const client = new Proxy(fx.client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (killed) throw dead();
          const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          // Died while this call was answered: its effect happened, its answer is lost.
          if (killed) throw dead();
          return out;
        };
      },
    }) as PveClient;
    const snippets: SnippetWriter = {
      place: async (node, storage, name, content) => {
        if (killed) throw dead();
        return fx.sim.engine.placeSnippet(node, storage, name, content);
      },
    };
    return { client, snippets };
  }

  beforeAll(async () => {
    fx = await startL2();
    fx.sim.engine.on((e: SimEvent) => {
      if (e.kind === 'request' && !/\/tasks\//.test(e.path) && !e.path.startsWith('/_sim')) {
        calls.push({ method: e.method, path: e.path });
        if (killAt !== undefined && ++seen >= killAt) killed = true;
      }
      if (e.kind === 'task-finished') tasks.push(e.upid);
    });
  }, 120_000);
  afterAll(async () => {
    console.info(`L2 fault sweep: ${schedules} schedules run (${kills} of them a killed process)`);
    await fx?.close();
  });

  async function vmsNamed(): Promise<{ vmid: number; node: string }[]> {
    const { vms } = parseResources(pveArray(await fx.client.get('/cluster/resources')));
    return vms.filter((v) => !v.template && v.name === PERSONA);
  }

  async function volumes(): Promise<string[]> {
    const out: string[] = [];
    for (const node of fx.sim.nodes) {
      for (const r of pveArray(await fx.client.get(apiPath('nodes', node, 'storage', 'local-lvm', 'content')))) out.push(`${node}/${pveString(pveRecord(r)['volid'])}`);
    }
    return out;
  }

  async function setup(phase: Phase): Promise<void> {
    const present = (await vmsNamed()).length > 0;
    if (phase === 'create' && present) await apply('destroy');
    if (phase !== 'create' && !present) await apply('normal');
    if (phase === 'update') {
      const vm = (await observeVms(fx.client, { personas: [PERSONA] })).managed.get(PERSONA)!;
      await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { cores: 1, memory: 6144, tags: 'x', delete: 'ipconfig0' });
      await fx.client.runTask('POST', apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'status', 'stop'), undefined, { pollMs: 5 });
    }
  }

  async function check(phase: Phase, dataVolume: string): Promise<void> {
    const vms = await vmsNamed();
    const vols = await volumes();
    expect(vols.filter((v) => v.endsWith(dataVolume))).toHaveLength(1);
    const live = new Set((parseResources(pveArray(await fx.client.get('/cluster/resources'))).vms).map((v) => v.vmid));
    const orphans = vols.filter((v) => {
      const owner = /vm-(\d+)-/.exec(v)?.[1];
      return owner !== undefined && Number(owner) !== HOLDER_VMID && !live.has(Number(owner)) && !/base-/.test(v);
    });
    expect(orphans).toEqual([]);
    if (phase === 'destroy') {
      expect(vms).toEqual([]);
    } else {
      expect(vms).toHaveLength(1);
      expect(hasChanges(await fx.plan('normal', { personas: personas() }))).toBe(false);
    }
  }

  async function sweep(phase: Phase): Promise<number> {
    await setup(phase);
    calls = [];
    tasks = [];
    await apply(phase === 'destroy' ? 'destroy' : 'normal');
    const recorded = [...calls];
    const types = [...new Set(tasks.map((u) => parseUpid(u)?.type).filter((t): t is string => t !== undefined))];
    const dataVolume = `local-lvm:vm-${HOLDER_VMID}-lab_${PERSONA}_library`;
    let n = 0;
    const inject: { label: string; arm: () => Partial<ApplyVmsContext> | void }[] = [];
    recorded.forEach((c, i) => {
      const nth = recorded.slice(0, i + 1).filter((x) => x.method === c.method && x.path === c.path).length;
      const exact = new RegExp(`^${c.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      inject.push({ label: `500 at ${c.method} ${c.path} #${nth}`, arm: () => void fx.sim.faults.failRequest({ method: c.method, path: exact, nth, status: 500, message: 'simulated failure' }) });
      if (c.method !== 'GET') {
        inject.push({ label: `lock timeout at ${c.method} ${c.path} #${nth}`, arm: () => void fx.sim.faults.failRequest({ method: c.method, path: exact, nth, status: 500, message: "can't lock file '/var/lock/qemu-server/lock-120.conf' - got timeout" }) });
      }
    });
    recorded.forEach((c, i) => inject.push({ label: `process killed after call ${i + 1} (${c.method} ${c.path})`, arm: () => mortal(i + 1) }));
    for (const type of types) inject.push({ label: `task error in ${type}`, arm: () => void fx.sim.faults.failTask({ type, message: `simulated ${type} failure` }) });
    for (const s of inject) {
      await setup(phase);
      const extra = s.arm() ?? {};
      await apply(phase === 'destroy' ? 'destroy' : 'normal', extra).catch(() => undefined);
      fx.sim.faults.clear();
      // Polls (agent ping, lock wait) vary in number: a run that ended before call N was not killed.
      const missed = killAt !== undefined && !killed;
      killAt = undefined;
      killed = false;
      await apply(phase === 'destroy' ? 'destroy' : 'normal');
      try {
        await check(phase, dataVolume);
      } catch (e) {
        throw new Error(`schedule "${s.label}" (${phase}) did not converge: ${(e as Error).message}`);
      }
      if (missed) continue;
      if (s.label.startsWith('process killed')) kills++;
      n++;
      schedules++;
    }
    return n;
  }

  it('create converges after a failure at any call', async () => {
    expect(await sweep('create')).toBeGreaterThan(10);
  }, 240_000);
  it('update converges after a failure at any call', async () => {
    expect(await sweep('update')).toBeGreaterThan(5);
  }, 240_000);
  it('destroy converges after a failure at any call, keeping the data disk', async () => {
    expect(await sweep('destroy')).toBeGreaterThan(3);
  }, 240_000);
});
