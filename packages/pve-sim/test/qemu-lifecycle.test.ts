import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshKey, startTestSim, type TestSim } from './_helpers.js';
import { fakeQcow2, serveImages, sha256, type ImageServer } from './_image-server.js';

const GiB = 1024 ** 3;
let t: TestSim;
let images: ImageServer;
const qcow = fakeQcow2(2 * GiB);

async function task(method: string, path: string, body?: URLSearchParams | string, query?: string): Promise<any> {
  const upid = await t.data(method, path, { ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) });
  return t.wait(upid);
}

beforeAll(async () => {
  t = await startTestSim();
  images = await serveImages({ '/debian.qcow2': qcow });
  await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup,import,snippets' });
  const st = await task(
    'POST',
    '/nodes/pve/storage/local/download-url',
    new URLSearchParams({ url: `${images.url}/debian.qcow2`, content: 'import', filename: 'debian-12.qcow2', checksum: sha256(qcow), 'checksum-algorithm': 'sha256' }),
  );
  expect(st.exitstatus).toBe('OK');
});
afterAll(async () => {
  await images.close();
  await t.close();
});

describe('create', () => {
  it('creates a VM from an imported image with a cloud-init drive', async () => {
    const body = new URLSearchParams({
      vmid: '9000',
      name: 'debian12-tpl',
      memory: '2048',
      cores: '2',
      cpu: 'x86-64-v2-AES',
      scsihw: 'virtio-scsi-single',
      scsi0: 'local-lvm:0,import-from=local:import/debian-12.qcow2,discard=on,iothread=1',
      scsi1: 'local-lvm:cloudinit',
      boot: 'order=scsi0',
      serial0: 'socket',
      vga: 'serial0',
      agent: '1',
      net0: 'virtio,bridge=vmbr0,firewall=1',
      ostype: 'l26',
      tags: 'debian;template',
    });
    const upid = await t.data('POST', '/nodes/pve/qemu', { body });
    expect(upid).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmcreate:9000:root@pam!lab-admin:$/);
    const st = await t.wait(upid);
    expect(st).toMatchObject({ status: 'stopped', exitstatus: 'OK', type: 'qmcreate', id: '9000', user: 'root@pam', tokenid: 'lab-admin', node: 'pve' });
    expect(typeof st.pid).toBe('number');
    const log = (await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`)).map((l: any) => l.t);
    expect(log).toContain("scsi0: successfully created disk 'local-lvm:vm-9000-disk-0,discard=on,iothread=1,size=2G'");
    expect(log).toContain("scsi1: successfully created disk 'local-lvm:vm-9000-cloudinit,media=cdrom'");
    expect(log[log.length - 1]).toBe('TASK OK');
  });

  it('returns the config with PVE JSON types', async () => {
    const c = await t.data('GET', '/nodes/pve/qemu/9000/config');
    expect(c).toMatchObject({
      agent: '1',
      boot: 'order=scsi0',
      cores: 2,
      memory: '2048',
      scsi0: 'local-lvm:vm-9000-disk-0,discard=on,iothread=1,size=2G',
      scsi1: 'local-lvm:vm-9000-cloudinit,media=cdrom',
      tags: 'debian;template',
      ostype: 'l26',
    });
    expect(c.net0).toMatch(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,firewall=1$/);
    expect(c.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(c.vmgenid).toMatch(/^[0-9a-f-]{36}$/);
    expect(c.meta).toMatch(/^creation-qemu=[\d.]+,ctime=\d+$/);
    expect(c.digest).toMatch(/^[0-9a-f]{40}$/);
    expect(c.lock).toBeUndefined();
  });

  it('refuses a duplicate vmid synchronously', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu', { body: 'vmid=9000' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("unable to create VM 9000 - VM 9000 already exists on node 'pve'");
  });

  it('writes no boot order for a VM without devices (found with proxmoxer)', async () => {
    await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: 'vmid=9002&memory=256' }));
    const c = await t.data('GET', '/nodes/pve/qemu/9002/config');
    expect(c.boot).toBeUndefined();
    expect(c.memory).toBe('256');
    await t.wait(await t.data('DELETE', '/nodes/pve/qemu/9002'));
  });

  it('checks import-from syntax and source type', async () => {
    const size = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9001', scsi0: 'local-lvm:8,import-from=local:import/debian-12.qcow2' }) });
    expect(size.status).toBe(400);
    expect(size.json.errors).toEqual({ scsi0: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
    const iso = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9001', scsi0: 'local-lvm:0,import-from=local:iso/x.img' }) });
    expect(iso.json.errors).toEqual({ scsi0: "local:iso/x.img has wrong type 'iso' - needs to be 'images' or 'import'" });
    const noImages = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9001', scsi0: 'local:8' }) });
    expect(noImages.json.errors).toEqual({ storage: "storage 'local' does not support vm images" });
    const cd = await t.call('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '9001', ide2: 'local:iso/x.iso' }) });
    expect(cd.json.errors).toEqual({ ide2: "explicit 'media=cdrom' is required for iso images" });
  });

  it('shows the create lock while the task runs and nextid skips taken ids', async () => {
    // long enough that the lock is still held when read back, even on a loaded machine
    const slow = await startTestSim({ timing: { taskTypeMs: { qmcreate: 3_000 } } });
    try {
      const upid = await slow.data('POST', '/nodes/pve/qemu', { body: 'vmid=100' });
      expect((await slow.data('GET', '/nodes/pve/qemu/100/config')).lock).toBe('create');
      expect((await slow.data('GET', '/nodes/pve/qemu/100/status/current')).lock).toBe('create');
      expect(await slow.data('GET', '/cluster/nextid')).toBe('101');
      const taken = await slow.call('GET', '/cluster/nextid', { query: 'vmid=100' });
      expect(taken.status).toBe(400);
      expect(taken.json.errors).toEqual({ vmid: 'VM 100 already exists' });
      await slow.wait(upid);
      expect((await slow.data('GET', '/nodes/pve/qemu/100/config')).lock).toBeUndefined();
    } finally {
      await slow.close();
    }
  });
});

describe('resize, template and clone', () => {
  it('grows a disk in a resize task and refuses to shrink', async () => {
    expect((await task('PUT', '/nodes/pve/qemu/9000/resize', 'disk=scsi0&size=20G')).exitstatus).toBe('OK');
    expect((await t.data('GET', '/nodes/pve/qemu/9000/config')).scsi0).toBe('local-lvm:vm-9000-disk-0,discard=on,iothread=1,size=20G');
    expect((await task('PUT', '/nodes/pve/qemu/9000/resize', new URLSearchParams({ disk: 'scsi0', size: '+1G' }))).exitstatus).toBe('OK');
    expect((await task('PUT', '/nodes/pve/qemu/9000/resize', 'disk=scsi0&size=10G')).exitstatus).toBe('shrinking disks is not supported');
    expect((await task('PUT', '/nodes/pve/qemu/9000/resize', 'disk=scsi5&size=10G')).exitstatus).toBe("disk 'scsi5' does not exist");
    expect((await task('PUT', '/nodes/pve/qemu/9000/resize', 'disk=scsi1&size=10G')).exitstatus).toBe("you can't resize a cdrom");
  });

  it('reports storage features like GET …/feature', async () => {
    expect(await t.data('GET', '/nodes/pve/qemu/9000/feature', { query: 'feature=clone' })).toEqual({ hasFeature: 0, nodes: [] });
    expect(await t.data('GET', '/nodes/pve/qemu/9000/feature', { query: 'feature=snapshot' })).toEqual({ hasFeature: 1, nodes: ['pve'] });
  });

  it('refuses a linked clone of a non-template', async () => {
    const r = await t.call('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=9100&full=0' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("Linked clone feature is not supported for 'local-lvm:vm-9000-disk-0' (scsi0)");
  });

  it('converts to a template with base volumes', async () => {
    expect((await task('POST', '/nodes/pve/qemu/9000/template')).exitstatus).toBe('OK');
    const c = await t.data('GET', '/nodes/pve/qemu/9000/config');
    expect(c.template).toBe(1);
    expect(c.scsi0).toBe('local-lvm:base-9000-disk-0,discard=on,iothread=1,size=21G');
    expect(c.scsi1).toBe('local-lvm:vm-9000-cloudinit,media=cdrom');
    const again = await t.call('POST', '/nodes/pve/qemu/9000/template');
    expect(again.reason).toBe("you can't convert a template to a template");
    expect((await task('POST', '/nodes/pve/qemu/9000/status/start')).exitstatus).toBe("you can't start a vm if it's a template");
  });

  it('linked-clones a template: new MACs, uuid, cloud-init volume, default name', async () => {
    const tpl = await t.data('GET', '/nodes/pve/qemu/9000/config');
    const upid = await t.data('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=101' });
    expect(upid).toMatch(/:qmclone:9000:root@pam!lab-admin:$/);
    expect((await t.wait(upid)).exitstatus).toBe('OK');
    const log = (await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`)).map((l: any) => l.t);
    expect(log).toContain('create linked clone of drive scsi0 (local-lvm:base-9000-disk-0)');
    expect(log).toContain('create full clone of drive scsi1 (local-lvm:vm-9000-cloudinit)');
    const c = await t.data('GET', '/nodes/pve/qemu/101/config');
    expect(c.name).toBe('Copy-of-VM-debian12-tpl');
    expect(c.template).toBeUndefined();
    expect(c.scsi0).toBe('local-lvm:vm-101-disk-0,discard=on,iothread=1,size=21G');
    expect(c.scsi1).toBe('local-lvm:vm-101-cloudinit,media=cdrom,size=4M');
    expect(c.net0).not.toBe(tpl.net0);
    expect(c.smbios1).not.toBe(tpl.smbios1);
    expect(c.vmgenid).not.toBe(tpl.vmgenid);
    const dup = await t.call('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=101' });
    expect(dup.reason).toBe('unable to create VM 101: config file already exists');
    const st = await t.call('POST', '/nodes/pve/qemu/9000/clone', { body: 'newid=102&storage=local-lvm' });
    expect(st.reason).toBe("parameter 'storage' not allowed for linked clones");
    const missing = await t.call('POST', '/nodes/pve/qemu/777/clone', { body: 'newid=102' });
    expect(missing.reason).toBe("unable to find configuration file for VM 777 on node 'pve'");
  });

  it('full-clones with a name and shows lock: clone on the new VM meanwhile', async () => {
    const slow = await startTestSim({ timing: { taskTypeMs: { qmclone: 3_000 } } });
    try {
      await slow.wait(await slow.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '200', scsi0: 'local-lvm:4', name: 'src' }) }));
      const upid = await slow.data('POST', '/nodes/pve/qemu/200/clone', { body: 'newid=201&name=web1&full=1' });
      expect((await slow.data('GET', '/nodes/pve/qemu/201/status/current').catch(() => ({ lock: 'clone' }))).lock).toBe('clone');
      expect((await slow.wait(upid)).exitstatus).toBe('OK');
      expect(await slow.data('GET', '/nodes/pve/qemu/201/config')).toMatchObject({ name: 'web1', scsi0: 'local-lvm:vm-201-disk-0,size=4G' });
    } finally {
      await slow.close();
    }
  });
});

describe('config updates', () => {
  it('PUT is sync, normalises tags, hashes cipassword, changes the digest', async () => {
    const before = (await t.data('GET', '/nodes/pve/qemu/101/config')).digest;
    const keys = `${sshKey('a@b')}\n${sshKey('c@d')}`;
    const r = await t.call('PUT', '/nodes/pve/qemu/101/config', {
      body: new URLSearchParams({
        cores: '4',
        tags: 'Web,prod web',
        ciuser: 'ops',
        cipassword: 'hunter2',
        sshkeys: encodeURIComponent(keys),
        ipconfig0: 'ip=10.20.0.10/24,gw=10.20.0.1',
        nameserver: '10.20.0.1',
        searchdomain: 'lab',
        description: 'web server\nsecond line\n\n',
        digest: before,
      }),
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ data: null });
    const c = await t.data('GET', '/nodes/pve/qemu/101/config');
    expect(c.digest).not.toBe(before);
    expect(c.tags).toBe('prod;web');
    expect(c.cipassword).toBe('**********');
    expect(c.cores).toBe(4);
    expect(c.description).toBe('web server\nsecond line');
    expect(c.sshkeys).toBe(encodeURIComponent(keys));
    const stale = await t.call('PUT', '/nodes/pve/qemu/101/config', { body: `cores=2&digest=${before}` });
    expect(stale.status).toBe(500);
    expect(stale.reason).toBe('checksum mismatch (file change by other user?)');
  });

  it('validates sshkeys, delete/revert and empty updates', async () => {
    const bad = await t.call('PUT', '/nodes/pve/qemu/101/config', { body: new URLSearchParams({ sshkeys: encodeURIComponent('not a key') }) });
    expect(bad.reason).toBe('SSH public key validation error');
    const raw = await t.call('PUT', '/nodes/pve/qemu/101/config', { body: new URLSearchParams({ sshkeys: 'ssh-ed25519 AAAA x' }) });
    expect(raw.status).toBe(400);
    expect(raw.json.errors.sshkeys).toBe('invalid format - invalid urlencoded string: ssh-ed25519 AAAA x\n');
    expect((await t.call('PUT', '/nodes/pve/qemu/101/config', { body: 'delete=foo' })).json.errors).toEqual({ delete: "unknown option 'foo'" });
    expect((await t.call('PUT', '/nodes/pve/qemu/101/config', { body: 'delete=cores&cores=2' })).json.errors).toEqual({ delete: "you can't use '-cores' and -delete cores' at the same time" });
    expect((await t.call('PUT', '/nodes/pve/qemu/101/config', { body: '' })).reason).toBe('no options specified');
    const boot = await t.call('PUT', '/nodes/pve/qemu/101/config', { body: new URLSearchParams({ boot: 'order=scsi0;net5' }) });
    expect(boot.reason).toBe("invalid bootorder: device 'net5' does not exist'");
  });

  it('POST returns a qmconfig UPID, or null with background_delay', async () => {
    const upid = await t.data('POST', '/nodes/pve/qemu/101/config', { body: 'memory=4096' });
    expect(upid).toMatch(/:qmconfig:101:/);
    const st = await t.wait(upid);
    expect(st.exitstatus).toBe('OK');
    const log = (await t.data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`)).map((l: any) => l.t);
    expect(log[0]).toBe('update VM 101: -memory 4096');
    expect(await t.data('POST', '/nodes/pve/qemu/101/config', { body: 'memory=4096&background_delay=5' })).toBeNull();
  });

  it('moves a deleted data disk to unusedN and frees it on unused delete', async () => {
    await t.data('PUT', '/nodes/pve/qemu/101/config', { body: 'scsi2=local-lvm:1' });
    let c = await t.data('GET', '/nodes/pve/qemu/101/config');
    expect(c.scsi2).toBe('local-lvm:vm-101-disk-1,size=1G');
    await t.data('PUT', '/nodes/pve/qemu/101/config', { body: 'delete=scsi2' });
    c = await t.data('GET', '/nodes/pve/qemu/101/config');
    expect(c.scsi2).toBeUndefined();
    expect(c.unused0).toBe('local-lvm:vm-101-disk-1');
    await t.data('PUT', '/nodes/pve/qemu/101/config', { body: 'delete=unused0' });
    const vols = await t.data('GET', '/nodes/pve/storage/local-lvm/content', { query: 'vmid=101' });
    expect(vols.map((v: any) => v.volid)).toEqual(['local-lvm:vm-101-cloudinit', 'local-lvm:vm-101-disk-0']);
  });
});

describe('power, pending changes, agent', () => {
  it('starts, reports status and keeps non-hotpluggable changes pending', async () => {
    expect((await task('POST', '/nodes/pve/qemu/101/status/start')).exitstatus).toBe('OK');
    expect(t.backend.guests.get(101)?.state).toBe('running');
    const cur = await t.data('GET', '/nodes/pve/qemu/101/status/current');
    expect(cur).toMatchObject({ vmid: 101, status: 'running', qmpstatus: 'running', agent: 1, serial: 1, ha: { managed: 0 }, cpus: 4, maxmem: 4096 * 1024 ** 2, maxdisk: 21 * GiB });
    expect(typeof cur.pid).toBe('number');
    expect(cur).toMatchObject({ diskread: expect.any(Number), diskwrite: expect.any(Number) });
    // vmstatus sets `serial` in the plain list too; block stats only for running VMs (QMP).
    const row = (await t.data('GET', '/nodes/pve/qemu')).find((r: { vmid: number }) => r.vmid === 101);
    expect(row).toMatchObject({ serial: 1, status: 'running' });
    expect(row.qmpstatus).toBeUndefined();
    expect((await task('POST', '/nodes/pve/qemu/101/status/start')).exitstatus).toBe('VM 101 already running');

    await t.data('PUT', '/nodes/pve/qemu/101/config', {
      body: new URLSearchParams({ cores: '2', name: 'web1', ipconfig0: 'ip=10.20.0.11/24,gw=10.20.0.1', ciuser: 'admin', citype: 'nocloud' }),
    });
    expect((await t.data('GET', '/nodes/pve/qemu/101/config')).cores).toBe(2);
    expect((await t.data('GET', '/nodes/pve/qemu/101/config', { query: 'current=1' })).cores).toBe(4);
    const pending = await t.data('GET', '/nodes/pve/qemu/101/pending');
    expect(pending).toContainEqual({ key: 'cores', value: 4, pending: 2 });
    expect(pending.find((p: any) => p.key === 'name')).toEqual({ key: 'name', value: 'web1' });
    expect(pending.find((p: any) => p.key === 'digest').value).toMatch(/^[0-9a-f]{40}$/);
    const ci = await t.data('GET', '/nodes/pve/qemu/101/cloudinit');
    expect(ci).toContainEqual({ key: 'ciuser', value: 'ops', pending: 'admin' });
    expect(ci).toContainEqual({ key: 'citype', pending: 'nocloud' });
    expect(ci).toContainEqual({ key: 'nameserver', value: '10.20.0.1' });
  });

  it('answers the guest agent with the declared address', async () => {
    expect(await t.data('POST', '/nodes/pve/qemu/101/agent/ping')).toEqual({ result: {} });
    const ifs = (await t.data('GET', '/nodes/pve/qemu/101/agent/network-get-interfaces')).result;
    expect(ifs.map((i: any) => i.name)).toEqual(['lo', 'eth0']);
    expect(ifs[1]['ip-addresses'][0]).toEqual({ 'ip-address-type': 'ipv4', 'ip-address': '10.20.0.10', prefix: 24 });
    expect(await t.sim.engine.resolveGuestEndpoint('10.20.0.10', 22)).toEqual({ host: '127.0.0.1', port: 20000 + 101 + 22 });
    expect(await t.sim.engine.resolveGuestEndpoint('10.20.0.11', 22)).toBeUndefined();
    const noAgent = await t.call('POST', '/nodes/pve/qemu/9000/agent/ping');
    expect(noAgent.reason).toBe('VM 9000 is not running');
  });

  it('reboot applies pending changes and regenerates cloud-init', async () => {
    const st = await task('POST', '/nodes/pve/qemu/101/status/reboot');
    expect(st.exitstatus).toBe('OK');
    expect((await t.data('GET', '/nodes/pve/qemu/101/config', { query: 'current=1' })).cores).toBe(2);
    expect(await t.data('GET', '/nodes/pve/qemu/101/pending')).not.toContainEqual(expect.objectContaining({ pending: expect.anything() }));
    const seed = t.backend.guests.get(101)!.spec.cloudInit!;
    expect(seed.userData).toContain('hostname: web1\n');
    expect(seed.networkConfig).toContain("address: '10.20.0.11'");
    expect(t.backend.guests.get(101)!.spec.nics[0]).toMatchObject({ device: 'net0', bridge: 'vmbr0', address: '10.20.0.11/24', gateway: '10.20.0.1' });
    expect(await t.sim.engine.resolveGuestEndpoint('10.20.0.11', 22)).toEqual({ host: '127.0.0.1', port: 20000 + 101 + 22 });
  });

  it('cannot destroy a running VM; stop then destroy with purge', async () => {
    const r = await t.call('DELETE', '/nodes/pve/qemu/101', { query: 'purge=1' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe('VM 101 is running - destroy failed');
    expect((await task('POST', '/nodes/pve/qemu/101/status/stop')).exitstatus).toBe('OK');
    expect((await task('POST', '/nodes/pve/qemu/101/status/stop')).exitstatus).toBe('OK');
    expect((await task('POST', '/nodes/pve/qemu/101/status/shutdown')).exitstatus).toBe('OK');
    const stopped = await t.data('GET', '/nodes/pve/qemu/101/status/current');
    expect(stopped).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', mem: 0, uptime: 0, serial: 1, agent: 1 });
    expect(Object.keys(stopped).filter((k) => /^(pid|diskread|diskwrite|running-machine|running-qemu|balloon|freemem)$/.test(k))).toEqual([]);
    const reboot = await t.call('POST', '/nodes/pve/qemu/101/status/reboot');
    expect(reboot.reason).toBe('VM 101 not running');
    const del = await t.data('DELETE', '/nodes/pve/qemu/101', { query: 'purge=1&destroy-unreferenced-disks=1' });
    expect((await t.wait(del)).exitstatus).toBe('OK');
    expect((await t.call('GET', '/nodes/pve/qemu/101/config')).reason).toBe("Configuration file 'nodes/pve/qemu-server/101.conf' does not exist");
    expect(await t.data('GET', '/nodes/pve/storage/local-lvm/content', { query: 'vmid=101' })).toEqual([]);
    expect(t.backend.guests.has(101)).toBe(false);
    expect((await task('POST', '/nodes/pve/qemu/101/status/start')).exitstatus).toBe("Configuration file 'nodes/pve/qemu-server/101.conf' does not exist");
  });
});

describe('locks', () => {
  it('a held lock fails mutations with PVE texts but not reads', async () => {
    await t.wait(await t.data('POST', '/nodes/pve/qemu', { body: new URLSearchParams({ vmid: '300', scsi0: 'local-lvm:2' }) }));
    await t.sim.faults.holdLock(300, 'backup');
    const put = await t.call('PUT', '/nodes/pve/qemu/300/config', { body: 'cores=2' });
    expect(put.reason).toBe('VM is locked (backup)');
    expect((await task('POST', '/nodes/pve/qemu/300/status/start')).exitstatus).toBe('VM is locked (backup)');
    expect((await t.call('POST', '/nodes/pve/qemu/300/template')).reason).toBe('VM is locked (backup)');
    expect((await t.data('GET', '/nodes/pve/qemu/300/status/current')).lock).toBe('backup');
    const del = await task('DELETE', '/nodes/pve/qemu/300');
    expect(del.exitstatus).toBe('VM is locked (backup)');
    await t.sim.faults.releaseLock(300);
  });

  it('flock contention surfaces as got timeout', async () => {
    await t.sim.faults.holdConfigFlock(300, 500);
    const r = await t.call('PUT', '/nodes/pve/qemu/300/config', { body: 'cores=2' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("can't lock file '/var/lock/qemu-server/lock-300.conf' - got timeout");
  });

  it('protection blocks destroy', async () => {
    await new Promise((r) => setTimeout(r, 500));
    await t.data('PUT', '/nodes/pve/qemu/300/config', { body: 'protection=1' });
    const r = await t.call('DELETE', '/nodes/pve/qemu/300');
    expect(r.reason).toBe("can't remove VM 300 - protection mode enabled");
  });
});
