import { afterEach, describe, expect, it } from 'vitest';
import { loadPersona, MERGE_RULES } from '../src/index.js';
import { labError, lines, makeLab, persona, VM } from './_lab.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function load(files: Record<string, string>, name = 'media') {
  const l = makeLab(files);
  cleanups.push(l.cleanup);
  return loadPersona(l.root, name);
}

const BASE = `os:
  timezone: Europe/Paris
  packages: [htop, curl]
  users:
    - { name: sam, shell: /bin/bash, groups: [adm], sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILKhU8A1RQWkloxV+AvNnpdglKMP7onKCqxp5FDU8G+2 sam@a"] }
  sysctl: { kernel.dmesg_restrict: 1, net.ipv4.tcp_syncookies: 1 }
  firewall:
    enabled: true
    policy: { input: drop, forward: drop }
    allow:
      - { name: ssh, port: 22 }
      - { name: node-exporter, port: 9100 }
vm:
  tags: [homelab]
  cores: 1
`;

describe('composition', () => {
  it('merges maps deeply, the including file winning', async () => {
    const { persona: p, files } = await load({
      'personas/_mixins/base.yaml': BASE,
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media', VM + '  cores: 4\n')}os:\n  timezone: Etc/UTC\n  firewall: { policy: { forward: accept } }\n`,
    });
    expect(files).toEqual(['personas/_mixins/base.yaml', 'personas/media/persona.yaml']);
    expect(p.vm.cores).toBe(4);
    expect(p.os.timezone).toBe('Etc/UTC');
    expect(p.os.firewall.enabled).toBe(true);
    expect(p.os.firewall.policy).toEqual({ input: 'drop', forward: 'accept', output: 'accept' });
  });

  it('merges keyed lists item by item and appends new items', async () => {
    const { persona: p } = await load({
      'personas/_mixins/base.yaml': BASE,
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media')}os:\n  users:\n    - { name: media, system: true }\n    - { name: sam, shell: /bin/zsh, groups: [docker] }\n  firewall:\n    allow:\n      - { name: ssh, from: [10.0.0.0/24] }\n      - { name: web, port: 80 }\n`,
    });
    expect(p.os.users.map((u) => [u.name, u.shell, u.groups, u.sshKeys.length])).toEqual([
      ['sam', '/bin/zsh', ['adm', 'docker'], 1],
      ['media', '/bin/bash', [], 0],
    ]);
    expect(p.os.firewall.allow).toEqual([
      { name: 'ssh', port: 22, proto: 'tcp', from: ['10.0.0.0/24'] },
      { name: 'node-exporter', port: 9100, proto: 'tcp', from: [] },
      { name: 'web', port: 80, proto: 'tcp', from: [] },
    ]);
  });

  it('unions sets and packages, keeping first occurrence order', async () => {
    const { persona: p } = await load({
      'personas/_mixins/base.yaml': BASE,
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media', VM + '  tags: [media, homelab]\n')}os:\n  packages: [jq, { name: curl, state: latest }, htop]\n`,
    });
    expect(p.vm.tags).toEqual(['homelab', 'media']);
    expect(p.os.packages).toEqual([
      { name: 'htop', state: 'present' },
      { name: 'curl', state: 'latest' },
      { name: 'jq', state: 'present' },
    ]);
  });

  it('removes inherited items with $remove and map keys with null', async () => {
    const l = makeLab({
      'personas/_mixins/base.yaml': BASE,
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media', VM + '  tags: [{ $remove: homelab }]\n')}os:\n  packages: [{ $remove: curl }]\n  users: [{ $remove: sam }]\n  firewall:\n    allow:\n      - $remove: node-exporter\n  sysctl: { kernel.dmesg_restrict: null }\n  groups: [{ $remove: nobody-has-this }]\n`,
    });
    cleanups.push(l.cleanup);
    const loaded = await loadPersona(l.root, 'media');
    const p = loaded.persona;
    expect(p.vm.tags).toEqual([]);
    // A removed package stays, as absent: it must be gone from the guest, not merely unmanaged.
    expect(p.os.packages.map((x) => [x.name, x.state])).toEqual([['htop', 'present'], ['curl', 'absent']]);
    expect(p.os.users).toEqual([]);
    expect(p.os.firewall.allow.map((r) => r.name)).toEqual(['ssh']);
    expect(p.os.sysctl).toEqual({ 'net.ipv4.tcp_syncookies': 1 });
    expect(loaded.warnings.map((w) => `${w.source?.file}:${w.source?.line} ${w.path}: ${w.summary}`)).toEqual([
      'personas/media/persona.yaml:18 os.groups[0].$remove: $remove: nothing inherited matches "nobody-has-this"',
    ]);
  });

  it('removes composite-keyed items by all their key fields', async () => {
    const { persona: p } = await load({
      'personas/_mixins/base.yaml': `os:\n  lines:\n    - { path: /etc/ssh/sshd_config, match: '^#?PermitRootLogin', line: PermitRootLogin no }\n    - { path: /etc/ssh/sshd_config, match: '^#?X11Forwarding', line: X11Forwarding no }\n`,
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media')}os:\n  lines:\n    - $remove: { path: /etc/ssh/sshd_config, match: '^#?X11Forwarding' }\n    - { path: /etc/ssh/sshd_config, match: '^#?PermitRootLogin', line: PermitRootLogin prohibit-password }\n`,
    });
    expect(p.os.lines.map((x) => x.line)).toEqual(['PermitRootLogin prohibit-password']);
  });

  it('replaces lists that have no merge rule', async () => {
    const { persona: p } = await load({
      'personas/_mixins/net.yaml': 'vm:\n  nics:\n    - { bridge: vmbr0, vlan: 10 }\n    - { bridge: vmbr0 }\n',
      'personas/media/persona.yaml': `include: [_mixins/net.yaml]\n${persona('media')}`,
    });
    expect(p.vm.nics.map((n) => n.vlan ?? null)).toEqual([null]);
  });

  it('applies includes depth first, in order, a shared mixin once', async () => {
    const l = makeLab({
      'personas/_mixins/base.yaml': 'os:\n  timezone: Europe/Paris\n  packages: [base-pkg]\n',
      'personas/_mixins/docker.yaml': 'include: [_mixins/base.yaml]\nos:\n  timezone: Europe/Berlin\n  packages: [docker-ce]\n',
      'personas/_mixins/metrics.yaml': 'include: [_mixins/base.yaml]\nos:\n  packages: [prometheus-node-exporter]\n',
      'personas/media/persona.yaml': `include: [_mixins/docker.yaml, _mixins/metrics.yaml]\n${persona('media')}`,
    });
    cleanups.push(l.cleanup);
    const loaded = await loadPersona(l.root, 'media');
    expect(loaded.files).toEqual(['personas/_mixins/base.yaml', 'personas/_mixins/docker.yaml', 'personas/_mixins/metrics.yaml', 'personas/media/persona.yaml']);
    expect(loaded.persona.os.timezone).toBe('Europe/Berlin');
    expect(loaded.persona.os.packages.map((x) => x.name)).toEqual(['base-pkg', 'docker-ce', 'prometheus-node-exporter']);
  });

  it('keeps a mixin description to itself and resolves its paths from its own folder', async () => {
    const { persona: p, dir } = await load({
      'personas/_mixins/motd.yaml': 'description: adds a motd\nos:\n  files:\n    - { path: /etc/motd, source: files/motd }\n',
      'personas/_mixins/files/motd': 'hello\n',
      'personas/media/persona.yaml': `include: [_mixins/motd.yaml]\n${persona('media')}description: media box\nworkloads:\n  stacks:\n    - { name: web, compose: ./compose/web.yaml }\n`,
      'personas/media/compose/web.yaml': 'services:\n  web:\n    image: nginx:1.27.3\n',
    });
    expect(dir).toBe('personas/media');
    expect(p.description).toBe('media box');
    expect(p.os.files[0]?.source).toBe('personas/_mixins/files/motd');
    expect(p.workloads.stacks[0]?.compose).toBe('personas/media/compose/web.yaml');
  });

  it('reports duplicate keys within one file and misplaced $remove', async () => {
    const l = makeLab({
      'personas/media/persona.yaml': `${persona('media', VM.replace('  nics:\n    - { bridge: vmbr0 }', '  nics:\n    - { bridge: vmbr0 }\n    - $remove: x'))}os:\n  users:\n    - { name: sam }\n    - { name: sam, shell: /bin/zsh }\n  packages:\n    - { $remove: htop, name: htop }\n`,
    });
    cleanups.push(l.cleanup);
    expect(lines(await labError(() => loadPersona(l.root, 'media')))).toEqual([
      'personas/media/persona.yaml:9:7 vm.nics[1]: $remove is not available here\n  hint: this list is replaced as a whole by the including file; write the full list instead',
      'personas/media/persona.yaml:13:7 os.users[1]: duplicate item "sam"\n  hint: each item of this list needs a unique key; merge the two items',
      'personas/media/persona.yaml:15:7 os.packages[0]: $remove must stand alone in its item\n  hint: write - $remove: <key> as its own list item',
    ]);
  });

  it('shows paths with the indices of the file a value comes from', async () => {
    const l = makeLab({
      'personas/_mixins/base.yaml': 'os:\n  users:\n    - { name: sam, shell: bash }\n',
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media')}os:\n  users:\n    - { name: media }\n    - { name: sam, uid: -1 }\n`,
    });
    cleanups.push(l.cleanup);
    expect(lines(await labError(() => loadPersona(l.root, 'media'))).map((x) => x.split('\n')[0])).toEqual([
      'personas/_mixins/base.yaml:3:27 os.users[0].shell: expected an absolute path like "/bin/bash", got "bash"',
      'personas/media/persona.yaml:13:25 os.users[1].uid: must be at least 0, got -1',
    ]);
  });

  it('has a merge rule for every keyed or set list the schema documents', () => {
    for (const [path, rule] of Object.entries(MERGE_RULES)) {
      expect(path).toMatch(/^(vm|os|workloads|capture)\./);
      if (rule.kind === 'keyed') expect(rule.key.length).toBeGreaterThan(0);
    }
  });
});

describe('a broken include', () => {
  it('reports the mixin only, not what it would have supplied', async () => {
    const l = makeLab({
      'personas/_mixins/base.yaml': 'vm:\n  memory: [1G\n',
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\nname: media\nvm:\n  image: debian-12@stable\n  disks: [{ name: root, size: 8G, storage: local-lvm }]\n  nics: [{ bridge: vmbr0 }]\n`,
    });
    cleanups.push(l.cleanup);
    const e = await labError(() => loadPersona(l.root, 'media'));
    expect(e.diagnostics.map((d) => d.source?.file)).toEqual(e.diagnostics.map(() => 'personas/_mixins/base.yaml'));
    expect(e.diagnostics.every((d) => d.summary.startsWith('YAML syntax error'))).toBe(true);
  });
});
