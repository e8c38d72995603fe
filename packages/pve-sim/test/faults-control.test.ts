import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestSim, type RawResponse, type TestSim } from './_helpers.js';

/**
 * Every fault kind driven over the `/_sim` control endpoint (the way a test in another process
 * or language injects them), each checked on the PVE API's wire; and the same fault script
 * run twice gives the same answers.
 */

function control(t: TestSim) {
  const headers = { Authorization: `Bearer ${t.sim.controlToken}`, 'Content-Type': 'application/json' };
  return async (method: string, path: string, body?: unknown): Promise<RawResponse> => {
    const r = await rawRequest(t.sim, method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    return r;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('/_sim control endpoint', () => {
  let t: TestSim;
  let sim: ReturnType<typeof control>;
  beforeAll(async () => {
    t = await startTestSim({ nodes: 2 });
    sim = control(t);
    await t.wait(await t.data('POST', '/nodes/pve1/qemu', { body: new URLSearchParams({ vmid: '100', scsi0: 'local-lvm:1', agent: '1', net0: 'virtio,bridge=vmbr0' }) }));
  });
  afterAll(async () => {
    await t.close();
  });

  it('needs the bearer token and JSON, and names unknown routes', async () => {
    expect((await rawRequest(t.sim, 'GET', '/_sim/info', {})).status).toBe(401);
    expect((await rawRequest(t.sim, 'GET', '/_sim/info', { Authorization: `Bearer ${t.sim.controlToken}x` })).status).toBe(401);
    const info = await sim('GET', '/_sim/info');
    expect(info.json).toEqual({ nodes: ['pve1', 'pve2'], fingerprint: t.sim.fingerprint, version: '8.4.1' });
    const bad = await rawRequest(t.sim, 'POST', '/_sim/faults/request', { Authorization: `Bearer ${t.sim.controlToken}` }, '{nope');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'body must be JSON' });
    expect((await sim('POST', '/_sim/faults/request', { path: '(', regex: true })).status).toBe(400);
    expect((await sim('GET', '/_sim/nothing')).json).toEqual({ error: 'no control route GET /_sim/nothing' });
  });

  it('request faults: the Nth call, `times` in a row, then answers again; removable by id', async () => {
    const add = await sim('POST', '/_sim/faults/request', {
      method: 'PUT',
      path: '/nodes/*/qemu/*/config',
      nth: 2,
      times: 2,
      status: 500,
      message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
    });
    expect(add.json.id).toMatch(/^f\d+$/);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: `cores=${i + 1}` })).status);
    expect(statuses).toEqual([200, 500, 500, 200, 200]);
    expect((await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: 'cores=1' })).status).toBe(200);
    const list = await sim('GET', '/_sim/faults');
    expect(list.json.faults).toEqual([expect.objectContaining({ id: add.json.id, kind: 'request', hits: 6 })]);
    expect((await sim('DELETE', `/_sim/faults/${add.json.id}`)).status).toBe(200);
    expect((await sim('DELETE', `/_sim/faults/${add.json.id}`)).status).toBe(404);
    expect((await sim('GET', '/_sim/faults')).json.faults).toEqual([]);
  });

  it('request faults: proxy pseudo-codes and 401 come without a body type', async () => {
    await sim('POST', '/_sim/faults/request', { path: '/nodes/pve1/qemu/\\d+/status/current$', regex: true, status: 596, message: 'Connection timed out' });
    await sim('POST', '/_sim/faults/request', { method: 'GET', path: '/cluster/resources', status: 599, message: 'Too many redirections' });
    await sim('POST', '/_sim/faults/request', { method: 'GET', path: '/version', status: 401, message: 'No ticket' });
    await sim('POST', '/_sim/faults/request', { method: 'GET', path: '/nodes', status: 500, message: 'proxy loop detected' });
    const s596 = await t.call('GET', '/nodes/pve1/qemu/100/status/current');
    expect([s596.status, s596.reason, s596.headers['content-type']]).toEqual([596, 'Connection timed out', undefined]);
    const s599 = await t.call('GET', '/cluster/resources');
    expect([s599.status, s599.reason, s599.headers['content-type']]).toEqual([599, 'Too many redirections', undefined]);
    const s401 = await t.call('GET', '/version');
    expect([s401.status, s401.reason, s401.text, s401.headers['content-type']]).toEqual([401, 'No ticket', '', undefined]);
    const s500 = await t.call('GET', '/nodes');
    expect(s500.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(s500.json).toEqual({ data: null, message: 'proxy loop detected\n' });
    expect((await t.call('GET', '/nodes/pve1/qemu/100/status/current')).status).toBe(200);
    expect((await sim('DELETE', '/_sim/faults')).json).toEqual({ ok: true });
  });

  it('task faults end the matching task in error, `times` times', async () => {
    await sim('POST', '/_sim/faults/task', { type: 'qmstart', id: 100, message: 'start failed: QEMU exited with code 1', times: 2 });
    const exits: string[] = [];
    for (let i = 0; i < 3; i++) exits.push((await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/start'))).exitstatus);
    expect(exits).toEqual(['start failed: QEMU exited with code 1', 'start failed: QEMU exited with code 1', 'OK']);
    const upid = (await t.data('GET', '/nodes/pve1/tasks', { query: 'typefilter=qmstart&errors=1&limit=1' }))[0].upid;
    const log = await t.data('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`);
    expect(log.at(-1).t).toBe('TASK ERROR: start failed: QEMU exited with code 1');
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/stop'));
    await sim('DELETE', '/_sim/faults');
  });

  it('latency faults slow matching calls only', async () => {
    await sim('POST', '/_sim/faults/latency', { method: 'GET', path: '/version', ms: 150 });
    let t0 = performance.now();
    await t.data('GET', '/version');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    t0 = performance.now();
    await t.data('GET', '/cluster/nextid');
    expect(performance.now() - t0).toBeLessThan(140);
    await sim('DELETE', '/_sim/faults');
  });

  it('a held or released config lock is what the API reports and enforces', async () => {
    await sim('POST', '/_sim/vms/100/lock', { lock: 'backup' });
    expect((await t.data('GET', '/nodes/pve1/qemu/100/status/current')).lock).toBe('backup');
    const refused = await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: 'cores=2' });
    expect([refused.status, refused.reason]).toEqual([500, 'VM is locked (backup)']);
    await sim('DELETE', '/_sim/vms/100/lock');
    expect((await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: 'cores=2' })).status).toBe(200);
  });

  it('a held config flock makes mutations time out', async () => {
    expect((await sim('POST', '/_sim/vms/100/flock', { ms: 1_000 })).json).toEqual({ ok: true });
    const r = await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: 'cores=3' });
    expect([r.status, r.reason]).toEqual([500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"]);
    expect((await t.call('GET', '/nodes/pve1/qemu/100/config')).status).toBe(200);
    await sleep(1_000);
    expect((await t.call('PUT', '/nodes/pve1/qemu/100/config', { body: 'cores=3' })).status).toBe(200);
  });

  it('agent delay: per VM now, or for every later start', async () => {
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/start'));
    expect((await t.call('POST', '/nodes/pve1/qemu/100/agent/ping')).status).toBe(200);
    await sim('POST', '/_sim/agent-delay', { ms: 300, vmid: 100 });
    expect((await t.call('POST', '/nodes/pve1/qemu/100/agent/ping')).reason).toBe('QEMU guest agent is not running');
    await sleep(320);
    expect((await t.call('POST', '/nodes/pve1/qemu/100/agent/ping')).status).toBe(200);
    await sim('POST', '/_sim/agent-delay', { ms: 300 });
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/stop'));
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/start'));
    expect((await t.call('POST', '/nodes/pve1/qemu/100/agent/ping')).reason).toBe('QEMU guest agent is not running');
    await sleep(320);
    expect((await t.call('POST', '/nodes/pve1/qemu/100/agent/ping')).status).toBe(200);
    await sim('POST', '/_sim/agent-delay', { ms: 0 });
  });

  it('task status delay: a fresh UPID is "no such task" for a while', async () => {
    await sim('POST', '/_sim/task-status-delay', { ms: 250 });
    const upid = await t.data('POST', '/nodes/pve1/qemu/100/status/stop');
    const early = await t.call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
    expect([early.status, early.json.errors]).toEqual([400, { upid: 'no such task' }]);
    await sleep(270);
    expect((await t.data('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)).exitstatus).toBe('OK');
    await sim('POST', '/_sim/task-status-delay', { ms: 0 });
  });

  it('resources lag: cluster/resources trails status/current', async () => {
    await sim('POST', '/_sim/resources-lag', { ms: 60_000 });
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/start'));
    expect((await t.data('GET', '/nodes/pve1/qemu/100/status/current')).status).toBe('running');
    expect((await t.data('GET', '/cluster/resources', { query: 'type=vm' }))[0].status).not.toBe('running');
    await sim('POST', '/_sim/resources-lag', { ms: 0 });
    expect((await t.data('GET', '/cluster/resources', { query: 'type=vm' }))[0].status).toBe('running');
    await t.wait(await t.data('POST', '/nodes/pve1/qemu/100/status/stop'));
  });

  it('node down: proxied calls answer 595, /nodes says offline, until it is up again', async () => {
    await sim('POST', '/_sim/nodes/pve2/down', {});
    const r = await t.call('GET', '/nodes/pve2/status');
    expect([r.status, r.reason, r.headers['content-type']]).toEqual([595, 'Errors during connection establishment, proxy handshake: No route to host', undefined]);
    expect((await t.data('GET', '/nodes')).find((n: any) => n.node === 'pve2').status).toBe('offline');
    expect((await sim('POST', '/_sim/nodes/pve9/down', {})).status).toBe(400);
    await sim('POST', '/_sim/nodes/pve2/down', { down: false });
    expect((await t.call('GET', '/nodes/pve2/status')).status).toBe(200);
  });

  it('places snippets that storage content lists', async () => {
    await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup,snippets' });
    const placed = await sim('POST', '/_sim/snippets', { node: 'pve1', storage: 'local', name: 'user-100.yaml', content: '#cloud-config\n' });
    expect(placed.json).toEqual({ volid: 'local:snippets/user-100.yaml' });
    const list = await t.data('GET', '/nodes/pve1/storage/local/content', { query: 'content=snippets' });
    expect(list).toEqual([expect.objectContaining({ volid: 'local:snippets/user-100.yaml', content: 'snippets', format: 'snippet', size: 14 })]);
  });
});

describe('fault scripts are reproducible', () => {
  /** One fixed script of faults and calls; returns everything a client could observe. */
  async function runScript(): Promise<unknown[]> {
    const t = await startTestSim({ seed: 'repro' });
    const sim = control(t);
    try {
      const seen: unknown[] = [];
      await sim('POST', '/_sim/faults/request', { method: 'POST', path: '/nodes/*/qemu', nth: 2, status: 500, message: "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout" });
      await sim('POST', '/_sim/faults/task', { type: 'qmclone', message: 'clone failed: injected', times: 1 });
      for (const vmid of [100, 101, 102]) {
        const r = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: String(vmid), scsi0: 'local-lvm:1', net0: 'virtio,bridge=vmbr0' }) });
        seen.push([vmid, r.status, r.reason]);
        if (r.status === 200) seen.push((await t.wait(r.json.data)).exitstatus);
      }
      await t.wait(await t.data('POST', '/nodes/pve/qemu/100/template'));
      for (const newid of [200, 201]) seen.push((await t.wait(await t.data('POST', '/nodes/pve/qemu/100/clone', { body: `newid=${newid}` }))).exitstatus);
      const confs = await Promise.all([100, 102, 201].map((v) => t.data('GET', `/nodes/pve/qemu/${v}/config`)));
      seen.push(confs.map((c) => [c.net0, c.smbios1, c.vmgenid]));
      seen.push((await sim('GET', '/_sim/faults')).json.faults.map((f: { hits: number }) => f.hits));
      return seen;
    } finally {
      await t.close();
    }
  }

  it('the same seed and script give the same outcomes, MACs and UUIDs', async () => {
    const first = await runScript();
    const second = await runScript();
    expect(first).toEqual(second);
    expect(first.slice(0, 5)).toEqual([
      [100, 200, 'OK'],
      'OK',
      [101, 500, "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"],
      [102, 200, 'OK'],
      'OK',
    ]);
    expect(first.slice(5, 7)).toEqual(['clone failed: injected', 'OK']);
  });
});
