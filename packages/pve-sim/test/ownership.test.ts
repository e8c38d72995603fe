import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import {
  acquireOwnerLock,
  attachEndpoint,
  currentHolder,
  liveEndpoint,
  publishEndpoint,
  readLockHolder,
  startSimulator,
  waitForClients,
  withdrawEndpoint,
  type LockHolder,
} from '../src/index.js';
import { startTestSim } from './_helpers.js';
import { MemoryBackend } from './_memory-backend.js';

// One process at a time serves a state dir (issue #14, ADR 0170): the owner lock names its
// holder, a dead holder's lock is taken over at once, a live or remote one is refused with who
// holds it, and a simulator that lost its lock writes nothing more.

/** The pid of a process that has exited (and so is provably gone). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function caught(p: Promise<unknown>): Promise<{ code: string; summary: string; hint: string | undefined }> {
  try {
    await p;
  } catch (err) {
    if (isLabError(err)) return { code: err.code, summary: err.summary, hint: err.hint };
    throw err;
  }
  throw new Error('expected a LabError');
}

describe('owner lock of a simulator state dir', () => {
  it('a second simulator on a served state dir is refused, naming the holder', async () => {
    const t = await startTestSim();
    try {
      const holder = await readLockHolder(path.join(t.dir, 'owner.lock'));
      expect(holder).toMatchObject({ pid: process.pid, host: hostname(), purpose: 'a Proxmox VE simulator' });
      const e = await caught(startSimulator({ stateDir: t.dir, guests: new MemoryBackend(), lockPurpose: 'lab apply' }));
      expect(e.code).toBe('LAB_SIM_STATE_BUSY');
      expect(e.summary).toContain(`a Proxmox VE simulator (pid ${process.pid} on ${hostname()}, since `);
      expect(e.hint).toContain(`kill ${process.pid}`);
    } finally {
      await t.close();
    }
  });

  it('close releases the lock; a restart takes it again and loses nothing', async () => {
    const t = await startTestSim();
    try {
      await t.data('POST', '/pools', { body: { poolid: 'kept' } });
      await t.restart();
      expect((await t.data('GET', '/pools')).map((p: { poolid: string }) => p.poolid)).toContain('kept');
    } finally {
      await t.close();
    }
  });

  it("a dead holder's lock (pid gone, or the pid reused by a later process) is taken over at once", async () => {
    const t = await startTestSim();
    const dir = t.dir;
    await t.sim.close();
    try {
      const dead: LockHolder = { ...currentHolder('lab apply'), pid: deadPid() };
      await writeFile(path.join(dir, 'owner.lock'), JSON.stringify(dead));
      const a = await acquireOwnerLock(dir, 'lab check');
      expect(a.tookOverFrom).toMatchObject({ pid: dead.pid, purpose: 'lab apply' });
      await a.release();

      // Our own pid, but a different process start time: the pid was reused, the holder is gone.
      const reused: LockHolder = { ...currentHolder('lab up'), procStart: '1' };
      await writeFile(path.join(dir, 'owner.lock'), JSON.stringify(reused));
      const b = await acquireOwnerLock(dir, 'lab check');
      expect(b.tookOverFrom?.purpose).toBe('lab up');
      await b.release();

      // Another boot: whatever the pid, the holder is gone.
      await writeFile(path.join(dir, 'owner.lock'), JSON.stringify({ ...currentHolder('lab up'), bootId: 'an-earlier-boot' }));
      const c = await acquireOwnerLock(dir, 'lab check');
      expect(c.tookOverFrom).toBeDefined();
      await c.release();
    } finally {
      await t.close().catch(() => undefined);
    }
  });

  it("another host's lock is not judged from here: refused, saying so", async () => {
    const t = await startTestSim();
    const dir = t.dir;
    await t.sim.close();
    await writeFile(path.join(dir, 'owner.lock'), JSON.stringify({ ...currentHolder('lab apply'), host: 'elsewhere.example' }));
    const e = await caught(acquireOwnerLock(dir, 'lab check'));
    expect(e.code).toBe('LAB_SIM_STATE_BUSY');
    expect(e.summary).toContain('on elsewhere.example');
    expect(e.hint).toContain('stop that process on elsewhere.example');
  });

  it('two processes racing for a dead lock: exactly one takes it', async () => {
    const t = await startTestSim();
    const dir = t.dir;
    await t.sim.close();
    await writeFile(path.join(dir, 'owner.lock'), JSON.stringify({ ...currentHolder('lab apply'), pid: deadPid() }));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireOwnerLock(dir, 'racer')));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('LAB_SIM_STATE_BUSY');
  });

  it('a simulator whose lock was taken over writes no more state (no update is lost)', async () => {
    const t = await startTestSim();
    try {
      const lockFile = path.join(t.dir, 'owner.lock');
      const other = { ...currentHolder('another owner'), since: '2099-01-01T00:00:00.000Z' };
      await writeFile(lockFile, JSON.stringify(other));
      const before = await readFile(path.join(t.dir, 'state.json'), 'utf8');
      const r = await t.call('POST', '/pools', { body: { poolid: 'lost' } });
      expect(r.status).toBe(500);
      expect(r.reason).toContain('this simulator no longer owns');
      expect(await readFile(path.join(t.dir, 'state.json'), 'utf8')).toBe(before);
      await writeFile(lockFile, JSON.stringify(await readLockHolder(lockFile)));
    } finally {
      await t.sim.close().catch(() => undefined);
    }
  });

  it('a node that goes down and comes back keeps its VMs, configs and pools', async () => {
    const t = await startTestSim({ nodes: 2 });
    try {
      const upid = await t.data('POST', '/nodes/pve2/qemu', { body: { vmid: 200, name: 'kept', memory: '1024', tags: 'a', scsi0: 'local-lvm:1' } });
      await t.wait(upid);
      await t.sim.faults.setNodeDown('pve2', true);
      expect((await t.call('GET', '/nodes/pve2/qemu/200/config')).status).toBe(595);
      await t.sim.faults.setNodeDown('pve2', false);
      const conf = await t.data('GET', '/nodes/pve2/qemu/200/config');
      expect(conf).toMatchObject({ name: 'kept', memory: '1024', tags: 'a' });
      await t.restart();
      expect(await t.data('GET', '/nodes/pve2/qemu/200/config')).toMatchObject({ name: 'kept', memory: '1024' });
    } finally {
      await t.close();
    }
  });
});

describe('a node that loses power and boots again', () => {
  it('its VMs die with it, read unknown meanwhile, and only the onboot ones start again; nothing else is lost', async () => {
    const t = await startTestSim({ nodes: 2 });
    try {
      for (const [vmid, onboot] of [[201, '1'], [202, '0']] as const) {
        await t.wait(await t.data('POST', '/nodes/pve2/qemu', { body: { vmid, name: `vm${vmid}`, scsi0: 'local-lvm:1', agent: '1', onboot } }));
        await t.wait(await t.data('POST', `/nodes/pve2/qemu/${vmid}/status/start`));
      }
      const r = await t.call('POST', '/_sim/nodes/pve2/down', { auth: 'none', body: { down: true, powerLoss: true }, headers: { Authorization: `Bearer ${t.sim.controlToken}` } });
      expect(r.status).toBe(200);
      const rows = await t.data('GET', '/cluster/resources', { query: 'type=vm' });
      expect(rows.filter((x: { node: string }) => x.node === 'pve2').map((x: { status: string; cpu?: number }) => [x.status, x.cpu])).toEqual([
        ['unknown', undefined],
        ['unknown', undefined],
      ]);
      await t.sim.faults.setNodeDown('pve2', false, { powerLoss: true });
      const tasks = await t.data('GET', '/nodes/pve2/tasks', { query: 'source=all&typefilter=qmstart&userfilter=root@pam' });
      const boot = tasks.find((x: { id: string; user: string }) => x.id === '201' && x.user === 'root@pam');
      expect(boot).toBeDefined();
      await t.wait(boot.upid);
      expect((await t.data('GET', '/nodes/pve2/qemu/201/status/current')).status).toBe('running');
      expect((await t.data('GET', '/nodes/pve2/qemu/202/status/current')).status).toBe('stopped');
      expect(await t.data('GET', '/nodes/pve2/qemu/202/config')).toMatchObject({ name: 'vm202', onboot: 0 });
    } finally {
      await t.close();
    }
  });
});

describe('sharing one running simulator (endpoint.json + client leases)', () => {
  it('a client attaches while the owner publishes; the owner waits for the lease before it stops', async () => {
    const t = await startTestSim();
    try {
      const owner = currentHolder('lab apply');
      await publishEndpoint(t.dir, owner, { url: t.sim.url });
      expect(JSON.parse(await readFile(path.join(t.dir, 'endpoint.json'), 'utf8'))).toMatchObject({ url: t.sim.url, pid: process.pid, owner: { purpose: 'lab apply' } });
      const client = await attachEndpoint<{ url: string }>(t.dir, 'lab check');
      expect(client?.endpoint.url).toBe(t.sim.url);

      await withdrawEndpoint(t.dir, owner);
      expect(await attachEndpoint(t.dir, 'late')).toBeUndefined();
      const told: string[][] = [];
      let stopped = false;
      const stopping = waitForClients(t.dir, (c) => told.push([...c]), 20).then(() => (stopped = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(stopped).toBe(false);
      expect(told[0]?.[0]).toContain(`lab check (pid ${process.pid}`);
      await client!.release();
      await stopping;
      expect(stopped).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("an endpoint whose owner died is not attached to, and a dead client's lease does not hold the owner", async () => {
    const t = await startTestSim();
    try {
      await publishEndpoint(t.dir, { ...currentHolder('lab up'), pid: deadPid() }, { url: 'https://127.0.0.1:1' });
      expect(await liveEndpoint(t.dir)).toBeUndefined();
      expect(await attachEndpoint(t.dir, 'x')).toBeUndefined();
      const owner = currentHolder('lab up');
      await publishEndpoint(t.dir, owner, { url: t.sim.url });
      const lease = await attachEndpoint(t.dir, 'x');
      expect(lease).toBeDefined();
      const file = path.join(t.dir, 'clients', (await import('node:fs')).readdirSync(path.join(t.dir, 'clients'))[0]!);
      await writeFile(file, JSON.stringify({ ...currentHolder('x'), pid: deadPid() }));
      await waitForClients(t.dir, () => undefined, 20);
    } finally {
      await t.close();
    }
  });
});
