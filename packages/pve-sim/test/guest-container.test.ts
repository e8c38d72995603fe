import { describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import {
  createArgs,
  diskImage,
  guestLabels,
  imageInstance,
  isGuestImage,
  nicsFile,
  publishedLoopbackPort,
  seedFiles,
  snapshotImage,
  assertInstance,
} from '../src/guests/_container.js';
import { linkLocalFromMac, orderInterfaces, parseQgaReply } from '../src/guests/_agent.js';
import type { AgentInterface, GuestSpec } from '../src/guests/index.js';

const spec: GuestSpec = {
  node: 'pve2',
  vmid: 100,
  name: 'web1',
  agent: true,
  nics: [
    { device: 'net0', mac: 'BC:24:11:AA:BB:CC', bridge: 'vmbr0', address: '10.20.0.10/24' },
    { device: 'net2', mac: 'BC:24:11:AA:BB:DD', bridge: 'vmbr0' },
  ],
};

describe('container shape', () => {
  it('creates a systemd guest without --privileged, published on loopback only', () => {
    const args = createArgs({
      name: 'lab-t1-100',
      image: 'lab-guest:bookworm-abc',
      labels: guestLabels('t1', 'pve2', 100, 4242),
      publish: [22, 80],
    });
    expect(args).not.toContain('--privileged');
    expect(args.slice(0, 3)).toEqual(['create', '--name', 'lab-t1-100']);
    for (const cap of ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE']) expect(args.join(' ')).toContain(`--cap-add ${cap}`);
    expect(args.join(' ')).toContain('--security-opt seccomp=unconfined');
    expect(args).toContain('--cgroupns=host');
    expect(args.join(' ')).toContain('--stop-signal SIGRTMIN+3');
    expect(args.filter((a, i) => args[i - 1] === '-p')).toEqual(['127.0.0.1::22', '127.0.0.1::80']);
    expect(args.filter((a, i) => args[i - 1] === '--label')).toEqual([
      'lab.pve-sim.instance=t1',
      'lab.pve-sim.node=pve2',
      'lab.pve-sim.vmid=100',
      'lab.pve-sim.owner-pid=4242',
    ]);
    expect(args.slice(-2)).toEqual(['lab-guest:bookworm-abc', '/sbin/init']);
  });

  it('lists NICs as the guest sees them: netN is ethN, MACs lower-case', () => {
    expect(nicsFile(spec).split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'eth0 bc:24:11:aa:bb:cc',
      'eth2 bc:24:11:aa:bb:dd',
      '',
    ]);
  });

  it('always writes all four seed files so none survives from an earlier boot', () => {
    expect(seedFiles({ metaData: 'instance-id: x\n', userData: '#cloud-config\n' })).toEqual({
      'meta-data': 'instance-id: x\n',
      'user-data': '#cloud-config\n',
      'network-config': '',
      'vendor-data': '',
    });
  });

  it('names images so that one guest never matches another', () => {
    expect(snapshotImage('t1', 10, 'pre')).toBe('lab-sim-snapshot:t1.10.pre');
    expect(isGuestImage('lab-sim-snapshot:t1.10.pre', 't1', 10)).toBe(true);
    expect(isGuestImage('lab-sim-snapshot:t1.100.pre', 't1', 10)).toBe(false);
    expect(isGuestImage('lab-sim-snapshot:t1-10.5.pre', 't1', 10)).toBe(false);
    expect(isGuestImage(diskImage('t1', 10), 't1', 10)).toBe(true);
    expect(isGuestImage(diskImage('t1', 10), 't1', 1)).toBe(false);
    expect(imageInstance('lab-sim-disk:t1-10.5')).toBe('t1-10');
    expect(imageInstance('lab-guest:bookworm-abc')).toBeUndefined();
  });

  it('rejects instance names that could collide in tags', () => {
    expect(() => assertInstance('a.b')).toThrow();
    try {
      assertInstance('Has Space');
    } catch (e) {
      expect(isLabError(e) && e.code).toBe('LAB_SIM_GUEST_INSTANCE_INVALID');
    }
    expect(() => assertInstance('test-123')).not.toThrow();
  });

  it('reads only loopback bindings of a published port', () => {
    const ports = {
      '22/tcp': [
        { HostIp: '0.0.0.0', HostPort: '40000' },
        { HostIp: '127.0.0.1', HostPort: '40001' },
      ],
      '80/tcp': null,
    };
    expect(publishedLoopbackPort(ports, 22)).toBe(40001);
    expect(publishedLoopbackPort(ports, 80)).toBeUndefined();
    expect(publishedLoopbackPort(null, 22)).toBeUndefined();
  });
});

describe('guest agent replies', () => {
  const iface = (name: string): AgentInterface => ({ name, 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [] });

  it('puts declared NICs first and hides the egress NIC', () => {
    const found = ['lo', 'eth2', 'egress0', 'docker0', 'eth0'].map(iface);
    expect(orderInterfaces(found, spec).map((i) => i.name)).toEqual(['eth0', 'eth2', 'lo', 'docker0']);
    expect(orderInterfaces(found, undefined).map((i) => i.name)).toEqual(['eth0', 'eth2', 'lo', 'docker0']);
  });

  it('turns agent errors into LabErrors with the agent text', () => {
    expect(parseQgaReply('guest-ping', '{"return": {}}')).toEqual({});
    expect(() => parseQgaReply('guest-exec', '{"error": {"class": "GenericError", "desc": "boom"}}')).toThrow(
      "guest agent command 'guest-exec' failed - boom",
    );
    expect(() => parseQgaReply('guest-ping', 'not json')).toThrow(/not JSON/);
  });

  it('derives link-local addresses as the kernel does', () => {
    expect(linkLocalFromMac('02:42:ac:11:00:02')).toBe('fe80::42:acff:fe11:2');
    expect(linkLocalFromMac('BC:24:11:5E:7A:01')).toBe('fe80::be24:11ff:fe5e:7a01');
  });
});
