import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { rawRequest, startTestSim, type TestSim } from './_helpers.js';
import { MemoryBackend } from './_memory-backend.js';

describe('fault injection', () => {
  let t: TestSim;
  beforeAll(async () => {
    t = await startTestSim();
    await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '100', scsi0: 'local-lvm:1', agent: '1' }) }));
  });
  afterAll(async () => {
    await t.close();
  });

  it('fails exactly the Nth matching call', async () => {
    const id = t.sim.faults.failRequest({ method: 'GET', path: '/nodes/*/qemu/*/config', nth: 2, status: 500, message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout" });
    expect((await t.call('GET', '/nodes/pve/qemu/100/config')).status).toBe(200);
    const second = await t.call('GET', '/nodes/pve/qemu/100/config');
    expect(second.status).toBe(500);
    expect(second.reason).toBe("can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    expect(second.json).toEqual({ data: null, message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n" });
    expect((await t.call('GET', '/nodes/pve/qemu/100/config')).status).toBe(200);
    expect(t.sim.faults.list().find((f) => f.id === id)?.hits).toBe(3);
    t.sim.faults.remove(id);
  });

  it('injects proxy errors without a body type', async () => {
    t.sim.faults.failRequest({ path: /\/status\/current$/, status: 596, message: 'Broken pipe' });
    const r = await t.call('GET', '/nodes/pve/qemu/100/status/current');
    expect(r.status).toBe(596);
    expect(r.reason).toBe('Broken pipe');
    expect(r.headers['content-type']).toBeUndefined();
  });

  it('makes a task end in error without doing its work', async () => {
    t.sim.faults.failTask({ type: 'qmstart', id: 100, message: 'start failed: QEMU exited with code 1' });
    expect((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'))).exitstatus).toBe('start failed: QEMU exited with code 1');
    expect(t.backend.guests.get(100)).toBeUndefined();
    expect((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'))).exitstatus).toBe('OK');
  });

  it('delays guest-agent readiness', async () => {
    t.sim.faults.delayAgent(300, 100);
    const r = await t.call('POST', '/nodes/pve/qemu/100/agent/ping');
    expect(r.status).toBe(500);
    expect(r.reason).toBe('QEMU guest agent is not running');
    await new Promise((res) => setTimeout(res, 320));
    expect(await t.data('POST', '/nodes/pve/qemu/100/agent/ping')).toEqual({ result: {} });
  });

  it('adds latency per call', async () => {
    t.sim.faults.addLatency({ path: '/version', ms: 120 });
    const started = Date.now();
    await t.data('GET', '/version');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('hides a fresh task from the status API for a while', async () => {
    // 3 s: the first read comes well inside the window even on a loaded machine
    t.sim.faults.taskStatusDelayMs = 3_000;
    try {
      const upid = await t.data('POST', '/nodes/pve/qemu/100/status/stop');
      const early = await t.call('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`);
      expect(early.status).toBe(400);
      expect(early.json.errors).toEqual({ upid: 'no such task' });
      await new Promise((res) => setTimeout(res, 3_100));
      expect((await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`)).exitstatus).toBe('OK');
    } finally {
      t.sim.faults.taskStatusDelayMs = 0;
    }
  });

  it('is driven over /_sim with the control token', async () => {
    const headers = { Authorization: `Bearer ${t.sim.controlToken}`, 'Content-Type': 'application/json' };
    const denied = await rawRequest(t.sim, 'GET', '/_sim/faults', {});
    expect(denied.status).toBe(401);
    const add = await rawRequest(t.sim, 'POST', '/_sim/faults/request', headers, JSON.stringify({ method: 'POST', path: '/nodes/*/qemu/*/clone', status: 500, message: 'clone failed: injected' }));
    expect(add.status).toBe(200);
    const clone = await t.call('POST', '/nodes/pve/qemu/100/clone', { body: 'newid=200' });
    expect(clone.reason).toBe('clone failed: injected');
    await rawRequest(t.sim, 'POST', '/_sim/vms/100/lock', headers, JSON.stringify({ lock: 'migrate' }));
    expect((await t.data('GET', '/nodes/pve/qemu/100/config')).lock).toBe('migrate');
    await rawRequest(t.sim, 'DELETE', '/_sim/vms/100/lock', headers);
    expect((await t.data('GET', '/nodes/pve/qemu/100/config')).lock).toBeUndefined();
    await rawRequest(t.sim, 'POST', '/_sim/faults/task', headers, JSON.stringify({ type: 'qmsnapshot', message: 'snapshot feature is not available' }));
    expect((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/snapshot', { body: 'snapname=s1' }))).exitstatus).toBe('snapshot feature is not available');
    const list = await rawRequest(t.sim, 'GET', '/_sim/faults', headers);
    expect(list.json.faults.length).toBeGreaterThan(0);
    expect((await rawRequest(t.sim, 'DELETE', '/_sim/faults', headers)).status).toBe(200);
    expect((await rawRequest(t.sim, 'GET', '/_sim/faults', headers)).json.faults).toEqual([]);
  });
});

describe('reproducibility', () => {
  it('a seed makes generated MACs, UUIDs and UPID pids identical', async () => {
    const results: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const t = await startTestSim({ seed: 'same-seed' });
      try {
        const upid = await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '100', net0: 'virtio,bridge=vmbr0' }) });
        await t.wait(upid);
        const c = await t.data('GET', '/nodes/pve/qemu/100/config');
        results.push([c.net0, c.smbios1, c.vmgenid, upid.split(':')[2]!, t.sim.adminToken.secret]);
      } finally {
        await t.close();
      }
    }
    expect(results[0]).toEqual(results[1]);
  });
});

describe('persistence', () => {
  it('a restart loses nothing: VMs, tokens, tasks, storage content, running state', async () => {
    const backend = new MemoryBackend();
    const t = await startTestSim({ guests: backend });
    try {
      await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup,snippets' });
      await t.sim.engine.placeSnippet('pve', 'local', 'u.yaml', '#cloud-config\n');
      await t.data('POST', '/access/users', { body: 'userid=keep@pve&password=keep-me' });
      const tok = await t.data('POST', '/access/users/keep@pve/token/tk', { body: 'privsep=0' });
      const createUpid = await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '100', name: 'keep', scsi0: 'local-lvm:2' }) });
      await t.wait(createUpid);
      await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '101', scsi0: 'local-lvm:1' }) }));
      await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'));
      await t.wait(await t.data('POST', '/nodes/pve/qemu/101/status/start'));
      const digest = (await t.data('GET', '/nodes/pve/qemu/100/config')).digest;
      const admin = t.sim.adminToken.header;
      const fp = t.sim.fingerprint;
      backend.guests.get(101)!.state = 'stopped';

      await t.restart();
      expect(t.sim.adminToken.header).toBe(admin);
      expect(t.sim.fingerprint).toBe(fp);
      const c = await t.data('GET', '/nodes/pve/qemu/100/config');
      expect(c.name).toBe('keep');
      expect(c.digest).toBe(digest);
      expect((await t.data('GET', '/nodes/pve/qemu/100/status/current')).status).toBe('running');
      expect((await t.data('GET', '/nodes/pve/qemu/101/status/current')).status).toBe('stopped');
      expect(await t.data('GET', '/version', { auth: { token: `PVEAPIToken=keep@pve!tk=${tok.value}` } })).toMatchObject({ release: '8.4' });
      const log = await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(createUpid)}/log`);
      expect(log[log.length - 1].t).toBe('TASK OK');
      expect((await t.data('GET', '/nodes/pve/storage/local/content')).map((v: any) => v.volid)).toEqual(['local:snippets/u.yaml']);
      const files = await readdir(t.dir);
      expect(files).toContain('state.json');
      expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
      expect((await readFile(path.join(t.dir, 'tls', 'fingerprint'), 'utf8')).trim()).toBe(fp);
    } finally {
      await t.close();
    }
  });
});

describe('persistence with the none backend', () => {
  it('VMs running before a restart run after it (records only: nothing of them died with the process)', async () => {
    const { createNoneBackend } = await import('../src/guests/none-backend.js');
    const t = await startTestSim({ guests: createNoneBackend() });
    try {
      await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '100', scsi0: 'local-lvm:1' }) }));
      await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '101', scsi0: 'local-lvm:1' }) }));
      await t.wait(await t.data('POST', '/nodes/pve/qemu/100/status/start'));
      await t.restart({ guests: createNoneBackend() });
      expect((await t.data('GET', '/nodes/pve/qemu/100/status/current')).status).toBe('running');
      expect((await t.data('GET', '/nodes/pve/qemu/101/status/current')).status).toBe('stopped');
    } finally {
      await t.close();
    }
  });
});
