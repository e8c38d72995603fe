import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestSim, type TestSim } from './_helpers.js';

let t: TestSim;
beforeAll(async () => {
  t = await startTestSim();
});
afterAll(async () => {
  await t.close();
});

describe('response headers and envelope', () => {
  it('answers with PVE headers and {data}', async () => {
    const r = await t.call('GET', '/version');
    expect(r.status).toBe(200);
    expect(r.reason).toBe('OK');
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(r.headers['server']).toBe('pve-api-daemon/3.0');
    expect(r.headers['cache-control']).toBe('max-age=0');
    expect(r.headers['pragma']).toBe('no-cache');
    expect(r.headers['expires']).toBe(r.headers['date']);
    expect(r.headers['connection']).toBe('Keep-Alive');
    expect(r.json).toEqual({ data: { version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d' } });
  });

  it('gzips bodies above 1 KiB when the client accepts it', async () => {
    const r = await rawRequest(t.sim, 'GET', '/api2/json/access/roles', { Authorization: t.sim.adminToken.header, 'Accept-Encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBe('gzip');
    const plain = await t.call('GET', '/access/roles');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.json.data.find((x: any) => x.roleid === 'PVEVMAdmin').privs).toContain('VM.Allocate');
  });
});

describe('routing errors', () => {
  it('501 no such uri without a format, no content type', async () => {
    const r = await t.call('GET', '/api2/');
    expect(r.status).toBe(501);
    expect(r.reason).toBe('no such uri');
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers['connection']).toBe('close');
    expect(r.text).toBe('no such uri');
  });

  it('501 JSON for an unknown method/path', async () => {
    const r = await t.call('GET', '/nodes/pve/foo');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'GET /nodes/pve/foo' not implemented");
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(r.json).toEqual({ data: null, message: "Method 'GET /nodes/pve/foo' not implemented" });
  });

  it('ignores empty segments and trailing slashes, decodes the path', async () => {
    expect((await t.call('GET', '//nodes//pve/status/')).status).toBe(200);
    expect((await t.call('GET', '/nodes/%70ve/status')).status).toBe(200);
  });

  it('accepts localhost as the serving node, fails DNS for unknown nodes', async () => {
    expect((await t.data('GET', '/nodes/localhost/status')).memory.total).toBeGreaterThan(0);
    const r = await t.call('GET', '/nodes/nosuch/status');
    expect(r.status).toBe(500);
    expect(r.reason).toMatch(/^hostname lookup 'nosuch' failed - /);
  });

  it('rejects a body on GET/DELETE with 501 and odd content types with 506', async () => {
    const g = await rawRequest(t.sim, 'GET', '/api2/json/version', { Authorization: t.sim.adminToken.header, 'Content-Length': '3', 'Content-Type': 'application/x-www-form-urlencoded' }, 'a=1');
    expect(g.status).toBe(501);
    expect(g.reason).toBe("Unexpected content for method 'GET'");
    expect(g.headers['content-type']).toBeUndefined();
    const p = await t.call('POST', '/pools', { body: 'poolid=x', contentType: 'text/plain' });
    expect(p.status).toBe(506);
    expect(p.reason).toBe("upload 'Content-Type 'text/plain' not implemented");
  });
});

describe('request parsing quirks', () => {
  it('splits form pairs on ; as well as &', async () => {
    await t.data('POST', '/pools', { body: 'poolid=semi;comment=split' });
    const pools = await t.data('GET', '/pools');
    expect(pools).toContainEqual({ poolid: 'semi', comment: 'split' });
  });

  it('truncates a value at its second unencoded =', async () => {
    await t.data('POST', '/pools', { body: 'poolid=eq&comment=a=b' });
    expect(await t.data('GET', '/pools')).toContainEqual({ poolid: 'eq', comment: 'a' });
    await t.data('POST', '/pools', { body: new URLSearchParams({ poolid: 'enc', comment: 'a=b;c' }) });
    expect(await t.data('GET', '/pools')).toContainEqual({ poolid: 'enc', comment: 'a=b;c' });
  });

  it('merges the query string over the body', async () => {
    await t.data('POST', '/pools', { body: 'poolid=body&comment=from-body', query: 'comment=from-query' });
    expect(await t.data('GET', '/pools')).toContainEqual({ poolid: 'body', comment: 'from-query' });
  });

  it('accepts JSON bodies', async () => {
    await t.data('POST', '/pools', { body: { poolid: 'json', comment: 'j' } });
    expect(await t.data('GET', '/pools')).toContainEqual({ poolid: 'json', comment: 'j' });
  });

  it('400 when a body parameter conflicts with the URI', async () => {
    const r = await t.call('PUT', '/nodes/pve/qemu/100/config', { body: 'vmid=101&cores=2' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual({ vmid: 'duplicate parameter (already defined in URI) with conflicting values!' });
  });
});

describe('400 parameter verification', () => {
  it('reports every bad parameter with PVE texts', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu', { body: 'vmid=99&name=bad_name&cores=abc&onboot=true&bogus=1' });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(r.json).toEqual({
      data: null,
      message: 'Parameter verification failed.\n',
      errors: {
        vmid: 'invalid format - value does not look like a valid VM ID\n',
        name: 'invalid format - value does not look like a valid DNS name\n',
        cores: "type check ('integer') failed - got 'abc'",
        onboot: "type check ('boolean') failed - got 'true'",
        bogus: 'property is not defined in schema and the schema does not allow additional properties',
      },
    });
  });

  it('reports missing required parameters and minimums', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu/100/clone', { body: '' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual({ newid: 'property is missing and it is not optional' });
    const m = await t.call('POST', '/nodes/pve/qemu', { body: 'vmid=100&cores=0' });
    expect(m.json.errors).toEqual({ cores: 'value must have a minimum value of 1' });
  });

  it('checks property strings and tags', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu', {
      body: new URLSearchParams({ vmid: '100', net0: 'virtio,bridge=vmbr0,foo=1', net1: 'virtio,tag=5000', tags: 'ok;b@d' }),
    });
    expect(r.json.errors.net0).toBe('invalid format - invalid key in comma-separated list property: foo\n');
    expect(r.json.errors.net1).toBe('invalid format - format error\nnet1.tag: value must have a maximum value of 4094\n');
    expect(r.json.errors.tags).toBe('invalid format - invalid characters in tag\n');
  });

  it('keeps the message field switchable (pve-http-server < 5.2.0)', async () => {
    const legacy = await startTestSim({ compat: { messageField: false } });
    try {
      const r = await legacy.call('GET', '/nodes/pve/qemu/123/config');
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ data: null });
      const u = await legacy.call('GET', '/api2/');
      expect(u.text).toBe('');
    } finally {
      await legacy.close();
    }
  });
});
