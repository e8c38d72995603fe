import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshKey, startTestSim, type TestSim } from './_helpers.js';

let t: TestSim;
const key = sshKey('ops@host');

beforeAll(async () => {
  t = await startTestSim({ hostDns: { search: 'example.internal', servers: ['192.168.100.1'] } });
  const upid = await t.data('POST', '/nodes/pve/qemu', {
    body: new URLSearchParams({
      vmid: '120',
      name: 'web1',
      ide2: 'local-lvm:cloudinit',
      net0: 'virtio=BC:24:11:5E:7A:01,bridge=vmbr0',
      net1: 'virtio=BC:24:11:5E:7A:02,bridge=vmbr0,tag=20',
      ipconfig0: 'ip=dhcp',
      ipconfig1: 'ip=10.20.0.10/24,gw=10.20.0.1,ip6=auto',
      ciuser: 'ops',
      sshkeys: encodeURIComponent(`${key}\n`),
      agent: '1',
    }),
  });
  await t.wait(upid);
});
afterAll(async () => {
  await t.close();
});

const dump = (type: string): Promise<string> => t.data('GET', '/nodes/pve/qemu/120/cloudinit/dump', { query: `type=${type}` });

describe('cloudinit/dump', () => {
  it('renders user-data like Proxmox', async () => {
    expect(await dump('user')).toBe(
      [
        '#cloud-config',
        'hostname: web1',
        'manage_etc_hosts: true',
        'fqdn: web1',
        'user: ops',
        'ssh_authorized_keys:',
        `  - ${key}`,
        'chpasswd:',
        '  expire: False',
        'users:',
        '  - default',
        'package_upgrade: true',
        '',
      ].join('\n'),
    );
  });

  it('renders nocloud network-config v1 with host DNS fallback', async () => {
    expect(await dump('network')).toBe(
      [
        'version: 1',
        'config:',
        '    - type: physical',
        '      name: eth0',
        "      mac_address: 'bc:24:11:5e:7a:01'",
        '      subnets:',
        '      - type: dhcp4',
        '    - type: physical',
        '      name: eth1',
        "      mac_address: 'bc:24:11:5e:7a:02'",
        '      subnets:',
        '      - type: static',
        "        address: '10.20.0.10'",
        "        netmask: '255.255.255.0'",
        "        gateway: '10.20.0.1'",
        '      - type: ipv6_slaac',
        '    - type: nameserver',
        '      address:',
        "      - '192.168.100.1'",
        '      search:',
        "      - 'example.internal'",
        '',
      ].join('\n'),
    );
  });

  it('meta-data instance-id is the SHA-1 of user + network', async () => {
    const user = await dump('user');
    const network = await dump('network');
    const id = createHash('sha1').update(user + network).digest('hex');
    expect(await dump('meta')).toBe(`instance-id: ${id}\n`);
  });

  it('masks the password only without VM.Config.Cloudinit, hashes it on update', async () => {
    await t.data('PUT', '/nodes/pve/qemu/120/config', { body: new URLSearchParams({ cipassword: 's3cret', ciupgrade: '0', ciuser: 'root' }) });
    const user = await dump('user');
    expect(user).toMatch(/\npassword: \$5\$[^$]{8}\$[./0-9A-Za-z]{43}\n/);
    expect(user).toContain('user: root\ndisable_root: False\n');
    expect(user).not.toContain('users:');
    expect(user).not.toContain('package_upgrade');
    await t.data('POST', '/access/users', { body: 'userid=auditor@pve' });
    const tok = await t.data('POST', '/access/users/auditor@pve/token/ro', { body: 'privsep=0' });
    await t.data('PUT', '/access/acl', { body: new URLSearchParams({ path: '/vms/120', roles: 'PVEAuditor', users: 'auditor@pve' }) });
    const masked = await t.data('GET', '/nodes/pve/qemu/120/cloudinit/dump', { query: 'type=user', auth: { token: `PVEAPIToken=auditor@pve!ro=${tok.value}` } });
    expect(masked).toContain('\npassword: **********\n');
  });

  it('configdrive2 network for Windows ostypes', async () => {
    await t.data('PUT', '/nodes/pve/qemu/120/config', { body: 'ostype=win11' });
    expect(await dump('network')).toBe(
      [
        'auto lo',
        'iface lo inet loopback',
        '',
        '        dns_nameservers 192.168.100.1',
        '        dns_search example.internal',
        'auto eth0',
        'iface eth0 inet dhcp',
        'auto eth1',
        'iface eth1 inet static',
        '        address 10.20.0.10',
        '        netmask 255.255.255.0',
        '        gateway 10.20.0.1',
        'iface eth1 inet6 auto',
        '',
      ].join('\n'),
    );
    await t.data('PUT', '/nodes/pve/qemu/120/config', { body: 'delete=ostype' });
  });

  it('hands the same seed to the guest backend at start', async () => {
    await t.data('PUT', '/nodes/pve/qemu/120/config', { body: 'ciuser=ops&delete=cipassword' });
    await t.wait(await t.data('POST', '/nodes/pve/qemu/120/status/start'));
    const seed = t.backend.guests.get(120)!.spec.cloudInit!;
    expect(seed.userData).toBe(await dump('user'));
    expect(seed.networkConfig).toBe(await dump('network'));
    expect(seed.metaData).toBe(await dump('meta'));
  });

  it('uses cicustom snippets for the guest seed', async () => {
    await t.data('PUT', '/storage/local', { body: 'content=iso,vztmpl,backup,snippets' });
    const volid = await t.sim.engine.placeSnippet('pve', 'local', 'user-120.yaml', '#cloud-config\nruncmd: [echo hi]\n');
    expect(volid).toBe('local:snippets/user-120.yaml');
    // A snippet may carry a guest's private host key: owner-only, as on a PVE node.
    const files = execFileSync('find', [t.dir, '-name', 'user-120.yaml', '-printf', '%m\\n'], { encoding: 'utf8' }).trim().split('\n');
    expect(files).toEqual(['600']);
    await t.wait(await t.data('POST', '/nodes/pve/qemu/120/status/stop'));
    await t.data('PUT', '/nodes/pve/qemu/120/config', { body: new URLSearchParams({ cicustom: `user=${volid}` }) });
    await t.wait(await t.data('POST', '/nodes/pve/qemu/120/status/start'));
    expect(t.backend.guests.get(120)!.spec.cloudInit!.userData).toBe('#cloud-config\nruncmd: [echo hi]\n');
    expect(await dump('user')).toContain('hostname: web1');
  });
});
