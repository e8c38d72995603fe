import { describe, expect, it } from 'vitest';
import { adoptVm, diskImpact, hotplugFeatures, keyImpact, pickNode, sameValue, type ResourceNode } from '../src/index.js';

const HOT = hotplugFeatures('network,disk,usb,memory');

describe('impact rules (pve-api.md §5.4, §6.6)', () => {
  it.each([
    ['memory', '2048', '4096', true, HOT, 'hotplug'],
    ['memory', '4096', '2048', true, HOT, 'reboot'],
    ['memory', '2048', '4096', true, hotplugFeatures(undefined), 'reboot'],
    ['cores', '2', '4', true, HOT, 'reboot'],
    ['cores', '2', '4', false, HOT, 'none'],
    ['tags', 'a', 'b', true, HOT, 'none'],
    ['ipconfig0', 'ip=dhcp', 'ip=10.0.0.5/24', true, HOT, 'reboot'],
    ['net0', 'virtio,bridge=vmbr0', 'virtio,bridge=vmbr0,tag=10', true, HOT, 'hotplug'],
  ] as const)('%s %s→%s running=%s', (key, before, after, running, hot, impact) => {
    expect(keyImpact(key, before, after, running, hot).impact).toBe(impact);
  });
  it('grows disks online and adds them hot', () => {
    expect(diskImpact('grow', true, HOT).impact).toBe('hotplug');
    expect(diskImpact('add', true, hotplugFeatures('0')).impact).toBe('reboot');
  });
});

describe('ownership comparisons', () => {
  it('ignores a generated MAC, compares tags as sets and sshkeys decoded', () => {
    expect(sameValue('net0', 'virtio,bridge=vmbr0,tag=10,firewall=1', 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10')).toBe(true);
    expect(sameValue('net0', 'virtio=BC:24:11:00:00:02,bridge=vmbr0,firewall=1', 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1')).toBe(false);
    expect(sameValue('tags', 'lab;lab-persona-x;media', 'media;lab-persona-x;lab')).toBe(true);
    expect(sameValue('sshkeys', encodeURIComponent('ssh-ed25519 AAA a\n'), 'ssh-ed25519%20AAA%20a')).toBe(true);
    expect(sameValue('memory', '2048', '2048')).toBe(true);
  });
});

describe('placement (vm.node: auto)', () => {
  const nodes: ResourceNode[] = [
    { node: 'pve1', online: true, maxmem: 64 * 2 ** 30, maxcpu: 8 },
    { node: 'pve2', online: true, maxmem: 64 * 2 ** 30, maxcpu: 8 },
    { node: 'pve3', online: true, maxmem: 32 * 2 ** 30, maxcpu: 4 },
  ];
  it('picks the most uncommitted memory, breaks ties by name, and is stable', () => {
    const committed = new Map([['pve1', 8 * 2 ** 30]]);
    const all = ['pve1', 'pve2', 'pve3'];
    expect(pickNode(nodes, committed, all)).toBe('pve2');
    expect(pickNode(nodes, new Map(), all)).toBe('pve1');
    for (let i = 0; i < 5; i++) expect(pickNode(nodes, committed, all)).toBe('pve2');
    expect(pickNode(nodes, committed, all, new Map([['pve2', 16 * 2 ** 30]]))).toBe('pve1');
    expect(pickNode(nodes, committed, ['pve3'])).toBe('pve3');
  });
});

describe('adopt', () => {
  it('writes a vm: section from a config', () => {
    const { section } = adoptVm(
      { boot: 'order=scsi0', scsi0: 'local-lvm:vm-105-disk-0,size=16G', scsi1: 'local-lvm:vm-105-disk-1,size=8G', ide2: 'local-lvm:vm-105-cloudinit,media=cdrom', cores: '2', memory: '4096', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10,firewall=1', ipconfig0: 'ip=10.0.10.5/24,gw=10.0.10.1', tags: 'lab-image-debian-12-1;web', onboot: '1' },
      { node: 'pve1', vmid: 105, imageTags: [{ tag: 'lab-image-debian-12-1', ref: 'debian-12@1' }] },
    );
    expect(section).toMatchObject({ node: 'pve1', vmid: 105, image: 'debian-12@1', cores: 2, memory: '4GiB', tags: ['web'], onboot: true, protection: false });
    expect(section['disks']).toEqual([{ name: 'root', size: '16GiB', storage: 'local-lvm' }, { name: 'disk-scsi1', size: '8GiB', storage: 'local-lvm' }]);
    expect(section['nics']).toEqual([{ bridge: 'vmbr0', vlan: 10, ip: '10.0.10.5/24', gateway: '10.0.10.1', firewall: true }]);
  });
});
