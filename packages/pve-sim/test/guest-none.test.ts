import { describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { createNoneBackend } from '../src/guests/index.js';
import type { GuestSpec } from '../src/guests/index.js';

function spec(overrides: Partial<GuestSpec> = {}): GuestSpec {
  return {
    node: 'pve',
    vmid: 101,
    name: 'web1',
    agent: true,
    nics: [
      { device: 'net0', mac: 'BC:24:11:5E:7A:01', bridge: 'vmbr0', address: '10.20.0.10/24', gateway: '10.20.0.1' },
      { device: 'net1', mac: 'BC:24:11:5E:7A:02', bridge: 'vmbr1', address: 'dhcp' },
    ],
    cloudInit: { metaData: 'instance-id: abc\n', userData: '#cloud-config\nhostname: web1\n' },
    ...overrides,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isLabError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a LabError');
}

describe('none backend: power states', () => {
  it('starts, stops, shuts down and reboots with Proxmox semantics', async () => {
    const b = createNoneBackend();
    expect(b.kind).toBe('none');
    expect(await b.state(101)).toBe('stopped');
    await b.stop(101); // stopping a VM that never ran succeeds
    await b.start(spec());
    expect(await b.state(101)).toBe('running');
    expect(b.inspect(101)?.boots).toBe(1);
    await b.start(spec()); // already running: no second boot
    expect(b.inspect(101)?.boots).toBe(1);
    await b.reboot(101);
    expect(b.inspect(101)?.boots).toBe(2);
    await b.shutdown(101, 1000);
    expect(await b.state(101)).toBe('stopped');
    expect(await codeOf(b.reboot(101))).toBe('LAB_SIM_GUEST_NOT_RUNNING');
    await b.start(spec());
    await b.close();
    expect(await b.state(101)).toBe('stopped');
    await b.destroy(101);
    await b.destroy(101);
    expect(b.inspect(101)).toBeUndefined();
  });

  it('keeps the latest seed for the next boot', async () => {
    const b = createNoneBackend();
    await b.start(spec());
    const second = spec({ cloudInit: { metaData: 'instance-id: def\n', userData: '#cloud-config\n' } });
    await b.start(second);
    expect(b.inspect(101)?.seed?.metaData).toBe('instance-id: def\n');
  });
});

describe('none backend: guest agent', () => {
  it('answers only once booted, and never when the agent is disabled', async () => {
    let now = 1_000;
    const b = createNoneBackend({ bootMs: 5_000, clock: () => now });
    expect(await b.agentPing(101)).toBe(false);
    await b.start(spec());
    expect(await b.agentPing(101)).toBe(false);
    expect(await codeOf(b.agentNetworkInterfaces(101))).toBe('LAB_SIM_AGENT_NOT_RUNNING');
    now += 5_000;
    expect(await b.agentPing(101)).toBe(true);
    await b.reboot(101);
    expect(await b.agentPing(101)).toBe(false);

    await b.start(spec({ vmid: 102, agent: false }));
    now += 10_000;
    expect(await b.agentPing(102)).toBe(false);
  });

  it('reports the declared NICs first, in the agent JSON shape', async () => {
    const b = createNoneBackend();
    await b.start(spec());
    const ifaces = await b.agentNetworkInterfaces(101);
    expect(ifaces.map((i) => i.name)).toEqual(['eth0', 'eth1', 'lo']);
    expect(ifaces[0]).toEqual({
      name: 'eth0',
      'hardware-address': 'bc:24:11:5e:7a:01',
      'ip-addresses': [
        { 'ip-address-type': 'ipv4', 'ip-address': '10.20.0.10', prefix: 24 },
        // EUI-64 from the MAC, as the kernel derives it.
        { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::be24:11ff:fe5e:7a01', prefix: 64 },
      ],
      statistics: expect.objectContaining({ 'rx-bytes': 0, 'tx-packets': 0 }),
    });
    // No DHCP server answers on a simulated bridge: a DHCP NIC has only its link-local address.
    expect(ifaces[1]?.['ip-addresses'].map((a) => a['ip-address-type'])).toEqual(['ipv6']);
    expect(ifaces[2]?.['ip-addresses'].map((a) => a['ip-address'])).toEqual(['127.0.0.1', '::1']);
  });
});

describe('none backend: snapshots, clones, endpoints', () => {
  it('records snapshots and leaves the VM stopped after a rollback', async () => {
    const b = createNoneBackend();
    await b.snapshot(101, 'fresh'); // a VM has a disk before its first boot
    await b.start(spec());
    await b.snapshot(101, 'booted');
    expect(await codeOf(b.snapshot(101, 'booted'))).toBe('LAB_SIM_SNAPSHOT_EXISTS');
    expect(await codeOf(b.snapshot(101, '1bad'))).toBe('LAB_SIM_SNAPSHOT_NAME_INVALID');
    await b.rollback(101, 'fresh');
    expect(await b.state(101)).toBe('stopped');
    expect(await codeOf(b.rollback(101, 'nope'))).toBe('LAB_SIM_SNAPSHOT_MISSING');
    await b.deleteSnapshot(101, 'fresh');
    expect(b.inspect(101)?.snapshots).toEqual(['booted']);
    expect(await codeOf(b.deleteSnapshot(101, 'fresh'))).toBe('LAB_SIM_SNAPSHOT_MISSING');
  });

  it('clones a running filesystem, as PVE clones a running VM, and remembers where a guest came from', async () => {
    const b = createNoneBackend();
    await b.start(spec({ vmid: 9000 }));
    await b.cloneFilesystem!(9000, 120);
    await b.start(spec({ vmid: 120 }));
    expect(b.inspect(120)?.clonedFrom).toBe(9000);
    expect(b.inspect(120)?.snapshots).toEqual([]);
  });

  it('hands out endpoints only for running guests', async () => {
    const b = createNoneBackend({ endpoint: (vmid, port) => ({ host: '127.0.0.1', port: 40_000 + vmid + port }) });
    expect(await b.endpoint(101, 22)).toBeUndefined();
    await b.start(spec());
    expect(await b.endpoint(101, 22)).toEqual({ host: '127.0.0.1', port: 40_123 });
    await b.stop(101);
    expect(await b.endpoint(101, 22)).toBeUndefined();
    expect(await createNoneBackend().endpoint(101, 22)).toBeUndefined();
  });
});
