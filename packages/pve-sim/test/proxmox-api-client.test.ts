import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import proxmoxApi, { type Proxmox } from 'proxmox-api';
import { Agent, fetch as undiciFetch } from 'undici';
import { startTestSim, type TestSim } from './_helpers.js';

/**
 * The third-party npm client `proxmox-api` against the simulator over HTTPS, trusting only the
 * simulator's own certificate (pinned as the sole CA; verification stays on).
 */
let t: TestSim;
let agent: Agent;
let pinnedFetch: (url: string | URL, init?: any) => Promise<any>;

beforeAll(async () => {
  t = await startTestSim();
  agent = new Agent({ connect: { ca: t.sim.certificatePem! } });
  pinnedFetch = (url, init) => undiciFetch(url, { ...init, dispatcher: agent });
});
afterAll(async () => {
  await agent.close();
  await t.close();
});

async function waitTask(px: Proxmox.Api, node: string, upid: string): Promise<{ status: string; exitstatus?: string }> {
  for (let i = 0; i < 200; i++) {
    const st = await px.nodes.$(node).tasks.$(upid).status.$get();
    if (st.status === 'stopped') return st as { status: string; exitstatus?: string };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`task ${upid} did not finish`);
}

describe('npm proxmox-api client', () => {
  it('drives create → config → start → status → destroy with an API token', async () => {
    const px = proxmoxApi({ host: t.sim.host, port: t.sim.port, schema: 'https', tokenID: t.sim.adminToken.id, tokenSecret: t.sim.adminToken.secret, fetch: pinnedFetch as never });
    const nodes = await px.nodes.$get();
    expect(nodes.map((n) => n.node)).toEqual(['pve']);
    const node = px.nodes.$('pve');
    const vmid = Number(await px.cluster.nextid.$get());
    expect(vmid).toBe(100);

    const createUpid = await node.qemu.$post({
      vmid,
      name: 'pxa-test',
      memory: '1024',
      cores: 2,
      scsihw: 'virtio-scsi-single',
      scsi0: 'local-lvm:4,iothread=1',
      ide2: 'local-lvm:cloudinit',
      net0: 'virtio,bridge=vmbr0',
      ipconfig0: 'ip=10.30.0.5/24,gw=10.30.0.1',
      boot: 'order=scsi0',
      agent: '1',
      tags: 'pxa;test',
    });
    expect((await waitTask(px, 'pve', createUpid)).exitstatus).toBe('OK');

    const vm = node.qemu.$(vmid);
    const config = await vm.config.$get();
    expect(config.name).toBe('pxa-test');
    expect(config.scsi0).toBe('local-lvm:vm-100-disk-0,iothread=1,size=4G');
    expect(config.boot).toBe('order=scsi0');

    await vm.config.$put({ cores: 4, onboot: true, description: 'set by proxmox-api' });
    const after = await vm.config.$get();
    expect(after.cores).toBe(4);
    expect(after.onboot).toBe(1);

    expect((await waitTask(px, 'pve', await vm.status.start.$post())).exitstatus).toBe('OK');
    const current = await vm.status.current.$get();
    expect(current.status).toBe('running');
    expect(current.cpus).toBe(4);
    const ifaces = await vm.agent['network-get-interfaces'].$get();
    expect(JSON.stringify(ifaces)).toContain('10.30.0.5');

    expect((await waitTask(px, 'pve', await vm.status.stop.$post())).exitstatus).toBe('OK');
    expect((await waitTask(px, 'pve', await vm.$delete({ purge: true, 'destroy-unreferenced-disks': true }))).exitstatus).toBe('OK');
    await expect(vm.config.$get()).rejects.toThrow(/500 Configuration file 'nodes\/pve\/qemu-server\/100\.conf' does not exist/);
  });

  it('logs in with user/password (ticket + CSRF) and surfaces PVE errors in its messages', async () => {
    const px = proxmoxApi({ host: t.sim.host, port: t.sim.port, schema: 'https', username: 'root@pam', password: t.sim.rootPassword, fetch: pinnedFetch as never });
    expect((await px.version.$get()).release).toBe('8.4');
    await px.pools.$post({ poolid: 'pxa', comment: 'via ticket' });
    expect(await px.pools.$get()).toContainEqual({ poolid: 'pxa', comment: 'via ticket' });
    await expect(px.nodes.$('pve').qemu.$post({ vmid: 99 } as never)).rejects.toThrow(/400 Parameter verification failed\./);
  });
});
