import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '@lab/core';
import { loadLab, loadPersona, loadSite } from '../src/index.js';
import { labError, lines, makeLab, persona, SITE, tempLabs, VM } from './_lab.js';

const { lab, onCleanup } = tempLabs();

describe('error messages name file:line:col, the path, and the fix', () => {
  it('reports every problem of a file at once', async () => {
    const root = lab({
      'personas/media/persona.yaml': [
        'name: media',
        'vm:',
        '  image: debian-12@stable',
        '  memory: lots',
        '  memroy: 2',
        '  disks:',
        '    - { name: root, size: 8G, storage: local-lvm }',
        '  nics:',
        '    - { bridge: vmbr0 }',
        'lifecycle:',
        '  stage: experimantal',
        'os:',
        '  files:',
        '    - { path: /etc/motd, content: hi, mode: 0644 }',
        '  users:',
        '    - name: bob',
        '      passwordHash: hunter2',
        '',
      ].join('\n'),
    });
    const e = await labError(() => loadPersona(root, 'media'));
    expect(e.code).toBe('LAB_INTENT_INVALID');
    expect(e.summary).toBe('5 errors in personas/media/persona.yaml');
    expect(lines(e)).toEqual([
      'personas/media/persona.yaml:4:11 vm.memory: expected a size like "8GiB", got "lots"\n' +
        '  hint: write a number and a binary unit: 512M, 8G or 8GiB, 2T (Proxmox units: 1G = 1GiB); a bare number is bytes',
      'personas/media/persona.yaml:5:3 vm.memroy: unknown key "memroy"\n  hint: did you mean "memory"?',
      'personas/media/persona.yaml:11:10 lifecycle.stage: expected one of "stable", "experimental", got "experimantal"\n  hint: did you mean "experimental"?',
      'personas/media/persona.yaml:14:45 os.files[0].mode: expected a quoted octal file mode like "0644", got 644\n' +
        '  hint: YAML reads an unquoted 0644 as the decimal 644; quote it: mode: "0644"',
      'personas/media/persona.yaml:17:21 os.users[0].passwordHash: expected a secret reference like { secret: media/jellyfin-api-key }, got "hunter2"\n' +
        '  hint: secret values never go in intent files: store the value in the encrypted secrets store and reference it as { secret: <persona>/<name> }',
    ]);
    // The CLI prints diagnostics with core's formatter; the first line is the contract.
    expect(formatDiagnostic(e.diagnostics[0]!).split('\n')[0]).toBe('personas/media/persona.yaml:4:11 vm.memory: expected a size like "8GiB", got "lots"');
  });

  it('points a missing required field at the map that should hold it', async () => {
    const root = lab({ 'personas/media/persona.yaml': 'name: media\nvm:\n  image: debian-12@stable\n  disks: []\n  nics: [{ bridge: vmbr0 }]\n' });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual(['personas/media/persona.yaml:3:3 vm.memory: missing required field\n  hint: add memory: … under vm']);
  });

  it('reports YAML syntax errors with position, once per position', async () => {
    const root = lab({ 'personas/media/persona.yaml': 'name: media\nvm:\n  image: debian-12@stable\n  memory: 1G\n  disks: [\n    { name: root }\n  nics: x\n' });
    const e = await labError(() => loadPersona(root, 'media'));
    expect(e.diagnostics.length).toBeGreaterThan(0);
    for (const d of e.diagnostics) {
      expect(d.summary).toMatch(/^YAML syntax error: /);
      expect(d.source?.file).toBe('personas/media/persona.yaml');
      expect(d.hint).toBeTruthy();
    }
    expect(new Set(e.diagnostics.map((d) => `${d.source?.line}:${d.source?.column}`)).size).toBe(e.diagnostics.length);
  });

  it('reports a duplicate key at the second occurrence', async () => {
    const root = lab({ 'personas/media/persona.yaml': `${persona('media')}vm:\n  memory: 2G\n` });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:9:1 vm: duplicate key \"vm\"\n  hint: each key may appear once in a map; merge the two entries',
    ]);
  });

  it('requires the persona name to match its folder', async () => {
    const root = lab({ 'personas/media/persona.yaml': persona('medai') });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:1:7 name: name "medai" does not match the folder personas/media\n  hint: set name: media, or rename the folder to personas/medai',
    ]);
  });

  it('names an include cycle and where it closes', async () => {
    const root = lab({
      'personas/media/persona.yaml': `include: [_mixins/a.yaml]\n${persona('media')}`,
      'personas/_mixins/a.yaml': 'include: [_mixins/b.yaml]\n',
      'personas/_mixins/b.yaml': 'include:\n  - _mixins/a.yaml\n',
    });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/_mixins/b.yaml:2:5 include[0]: include cycle: personas/_mixins/a.yaml → personas/_mixins/b.yaml → personas/_mixins/a.yaml\n' +
        '  hint: remove one of these includes; a mixin cannot include itself, directly or indirectly',
    ]);
  });

  it('catches a persona including itself', async () => {
    const root = lab({ 'personas/media/persona.yaml': `include: [media/persona.yaml]\n${persona('media')}` });
    const [line] = lines(await labError(() => loadPersona(root, 'media')));
    expect(line).toMatch(/^personas\/media\/persona\.yaml:1:11 include\[0\]: include cycle: personas\/media\/persona\.yaml → personas\/media\/persona\.yaml/);
  });

  it('suggests the mixin meant when an include does not exist', async () => {
    const root = lab({ 'personas/media/persona.yaml': `include: [_mixins/dokcer.yaml]\n${persona('media')}`, 'personas/_mixins/docker.yaml': 'os: {}\n' });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:1:11 include[0]: mixin personas/_mixins/dokcer.yaml does not exist\n  hint: did you mean "_mixins/docker.yaml"?',
    ]);
  });

  it('points errors inside a mixin at the mixin file', async () => {
    const root = lab({
      'personas/media/persona.yaml': `include: [_mixins/base.yaml]\n${persona('media')}`,
      'personas/_mixins/base.yaml': 'os:\n  timezone: Mars/Olympus\n  pakages: [htop]\nname: base\n',
    });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/_mixins/base.yaml:2:13 os.timezone: unknown time zone "Mars/Olympus"\n  hint: use an IANA name like "Europe/Paris" or "Etc/UTC"',
      'personas/_mixins/base.yaml:3:3 os.pakages: unknown key "pakages"\n  hint: did you mean "packages"?',
      'personas/_mixins/base.yaml:4:1 name: a mixin cannot set name\n  hint: name belongs in the persona file that includes the mixin',
    ]);
  });

  it('suggests keys across naming styles', async () => {
    const root = lab({ 'personas/media/persona.yaml': persona('media', VM.replace('{ bridge: vmbr0 }', '{ bridge: vmbr0, Fire_Wall: false }')) + 'os:\n  unattended_upgrades: {}\n  colour: blue\n' });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:8:24 vm.nics[0].Fire_Wall: unknown key "Fire_Wall"\n  hint: did you mean "firewall"?',
      'personas/media/persona.yaml:10:3 os.unattended_upgrades: unknown key "unattended_upgrades"\n  hint: did you mean "unattendedUpgrades"?',
      expect.stringMatching(/^personas\/media\/persona\.yaml:11:3 os\.colour: unknown key "colour"\n {2}hint: allowed keys: hostname, domain, timezone, /),
    ]);
  });

  it('checks cross-field rules at the exact field', async () => {
    const root = lab({
      'personas/media/persona.yaml': `name: media
lifecycle: { ttl: 7d }
vm:
  image: debian-12@stable
  memory: 1G
  balloon: 2G
  disks:
    - { name: root, size: 8G, storage: local-lvm, persistent: true }
    - { name: data, size: 8G, storage: local-lvm, persistent: true }
  nics:
    - { bridge: vmbr0, ip: 10.0.10.5/24, gateway: 10.0.20.1 }
`,
    });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:2:19 lifecycle.ttl: ttl is only allowed on experimental personas\n  hint: remove ttl, or set lifecycle.stage: experimental',
      'personas/media/persona.yaml:6:12 vm.balloon: balloon is larger than memory\n  hint: balloon is the minimum memory; set it below memory, or 0 to disable',
      'personas/media/persona.yaml:8:63 vm.disks[0].persistent: the root disk cannot be persistent\n  hint: put data on a separate disk with persistent: true and a mount',
      'personas/media/persona.yaml:9:7 vm.disks[1]: persistent disk "data" has no mount point\n  hint: add mount: /srv/<name>',
      'personas/media/persona.yaml:11:51 vm.nics[0].gateway: gateway 10.0.20.1 is outside 10.0.10.5/24\n  hint: set a gateway inside the subnet of ip, usually its .1',
    ]);
  });

  it('checks what a persona names against lab.yaml', async () => {
    const root = lab({
      'personas/media/persona.yaml': persona(
        'media',
        `vm:
  node: pve9
  image: debian-13@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-zfs }
  nics:
    - { bridge: vmbr0, vlan: 20, ip: 10.0.20.5/24 }
capture: { repository: offsite, paths: [/srv] }
`,
      ),
    });
    expect(lines(await labError(() => loadLab(root)))).toEqual([
      'personas/media/persona.yaml:3:9 vm.node: no node "pve9" in lab.yaml\n  hint: did you mean "pve1"?; or use auto',
      'personas/media/persona.yaml:4:10 vm.image: no image "debian-13" in the catalogue of lab.yaml\n  hint: did you mean "debian-12"?',
      'personas/media/persona.yaml:7:40 vm.disks[0].storage: no storage "local-zfs" in lab.yaml\n  hint: did you mean "local"?',
      'personas/media/persona.yaml:9:30 vm.nics[0].vlan: VLAN 20 is not declared on vmbr0\n  hint: VLANs: 10',
      'personas/media/persona.yaml:10:24 capture.repository: no backup repository "offsite" in lab.yaml\n  hint: repositories: local',
    ]);
  });

  it('finds addresses and vmids used twice across personas', async () => {
    const body = VM.replace('{ bridge: vmbr0 }', '{ bridge: vmbr0, vlan: 10, ip: 10.0.10.7/24 }') + '  vmid: 150\n';
    const root = lab({ 'personas/a/persona.yaml': persona('a', body), 'personas/b/persona.yaml': persona('b', body) });
    expect(lines(await labError(() => loadLab(root)))).toEqual([
      'personas/b/persona.yaml:8:38 vm.nics[0].ip: address 10.0.10.7 is already used by persona a\n  hint: give each persona its own address, or use ip: dhcp',
      'personas/b/persona.yaml:9:9 vm.vmid: vmid 150 is already used by persona a\n  hint: give each persona its own vmid, or omit it to allocate one',
    ]);
  });

  it('refuses floating image tags in a stable persona, at the compose line', async () => {
    const body = `${VM}workloads:\n  stacks:\n    - { name: web, compose: compose/web.yaml }\n`;
    const compose = 'services:\n  web:\n    image: nginx\n  cache:\n    image: "redis:latest"\n  db:\n    image: postgres:16.4\n';
    const root = lab({ 'personas/media/persona.yaml': persona('media', body), 'personas/media/compose/web.yaml': compose });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/compose/web.yaml:3:12 image: image nginx has no tag (means latest)\n' +
        '  hint: pin a version tag such as jellyfin/jellyfin:10.10.7 (or a @sha256 digest), or make the persona lifecycle.stage: experimental',
      'personas/media/compose/web.yaml:5:13 image: image redis:latest uses the floating tag "latest"\n' +
        '  hint: pin a version tag such as jellyfin/jellyfin:10.10.7 (or a @sha256 digest), or make the persona lifecycle.stage: experimental',
    ]);
    const experimental = lab({ 'personas/media/persona.yaml': persona('media', `lifecycle: { stage: experimental }\n${body}`), 'personas/media/compose/web.yaml': compose });
    await expect(loadPersona(experimental, 'media')).resolves.toMatchObject({ name: 'media' });
  });

  it('reports a missing compose or source file where it is referenced', async () => {
    const body = `${VM}os:\n  files:\n    - { path: /etc/app.conf, source: files/app.conf }\nworkloads:\n  stacks:\n    - { name: web, compose: compose/web.yaml }\n`;
    const root = lab({ 'personas/media/persona.yaml': persona('media', body) });
    expect(lines(await labError(() => loadPersona(root, 'media')))).toEqual([
      'personas/media/persona.yaml:11:38 os.files[0].source: source file personas/media/files/app.conf does not exist\n  hint: paths are relative to the YAML file that declares them',
      'personas/media/persona.yaml:14:29 workloads.stacks[0].compose: compose file personas/media/compose/web.yaml does not exist\n  hint: paths are relative to the YAML file that declares them',
    ]);
  });

  it('collects the problems of every file into one error', async () => {
    const root = lab({
      'lab.yaml': SITE.replace('name: test', 'name: Test Lab'),
      'personas/a/persona.yaml': persona('a', VM.replace('1GiB', '1 GB')),
      'personas/b/persona.yaml': persona('b', VM.replace('vm:', 'vm:\n  cpus: 2')),
      'personas/c/notes.md': 'no persona here\n',
    });
    const e = await labError(() => loadLab(root));
    expect(e.summary).toBe('4 errors in 4 files');
    expect(lines(e).map((l) => l.split('\n')[0])).toEqual([
      'lab.yaml:1:7 name: expected a DNS label like "homelab", got "Test Lab"',
      'personas/a/persona.yaml:4:11 vm.memory: expected a size like "8GiB", got "1 GB"',
      'personas/b/persona.yaml:3:3 vm.cpus: unknown key "cpus"',
      'personas/c/persona.yaml:1:1 personas/c/ has no persona.yaml',
    ]);
  });

  it('explains the proxmox modes and pins', async () => {
    const remote = SITE.replace('proxmox: { mode: embedded, nodes: 1 }', 'proxmox: { mode: remote, url: "https://pve1:8006", fingerprint: "AB:CD", tokenId: lab, tokenSecret: s3cret }');
    const e = await labError(() => loadSite(lab({ 'lab.yaml': remote })));
    expect(lines(e).map((l) => l.split('\n')[0])).toEqual([
      'lab.yaml:2:65 proxmox.fingerprint: expected a SHA-256 certificate fingerprint like "5B:0E:8C:31:D2:47:A9:16:F3:6C:88:02:BE:49:7D:E5:13:A0:6F:C4:29:91:5E:D7:0B:84:3A:F6:62:1C:9D:E8", got "AB:CD"',
      'lab.yaml:2:83 proxmox.tokenId: expected an API token id like "lab@pve!lab", got "lab"',
      'lab.yaml:2:101 proxmox.tokenSecret: expected a secret reference like { secret: media/jellyfin-api-key }, got "s3cret"',
    ]);
    const typo = await labError(() => loadSite(lab({ 'lab.yaml': SITE.replace('mode: embedded', 'mode: embeded') })));
    expect(lines(typo)).toEqual([
      'lab.yaml:2:18 proxmox.mode: expected mode "embedded" or "remote", got "embeded"\n' +
        '  hint: mode: embedded runs the bundled simulator; mode: remote needs url, fingerprint, tokenId and tokenSecret',
    ]);
  });

  it('reports site consistency problems', async () => {
    const site = SITE.replace('nodes: 1 }', 'nodes: 2 }').replace('stable: "1"', 'stable: "2"').replace("value: " + 'a'.repeat(64), 'value: ' + 'a'.repeat(128));
    expect(lines(await labError(() => loadSite(lab({ 'lab.yaml': site })))).map((l) => l.split('\n')[0])).toEqual([
      'lab.yaml:2:35 proxmox.nodes: the simulator runs 2 nodes but 1 are listed under nodes',
      'lab.yaml:18:13 images[0].stable: stable version "2" is not listed under versions',
      'lab.yaml:22:47 images[0].versions[0].checksum.value: a sha256 digest has 64 hex digits, got 128',
    ]);
  });

  it('throws LAB_INTENT_NOT_FOUND for an unknown persona or a missing lab.yaml', async () => {
    const root = lab({ 'personas/media/persona.yaml': persona('media') });
    const e = await labError(() => loadPersona(root, 'meida'));
    expect(e.code).toBe('LAB_INTENT_NOT_FOUND');
    expect(e.hint).toBe('did you mean "media"?');
    const empty = makeLab({});
    onCleanup(empty.cleanup);
    const { rmSync } = await import('node:fs');
    rmSync(`${empty.root}/lab.yaml`);
    expect((await labError(() => loadSite(empty.root))).code).toBe('LAB_INTENT_NOT_FOUND');
  });
});

describe('union fields explain the form they expect', () => {
  it('packages, secret references and inline values', async () => {
    const body = `${VM}os:
  packages:
    - { name: htop, stat: latest }
    - 42
workloads:
  stacks:
    - name: web
      compose: { services: { web: { image: "nginx:1.27.3" } } }
      env:
        KEY: { secrte: web/key }
        OTHER: { secret: Web/Key }
        LIST: [a]
`;
    const l = makeLab({ 'personas/media/persona.yaml': persona('media', body) });
    try {
      expect(lines(await labError(() => loadPersona(l.root, 'media')))).toEqual([
        'personas/media/persona.yaml:11:21 os.packages[0].stat: unknown key "stat"\n  hint: did you mean "state"?',
        'personas/media/persona.yaml:12:7 os.packages[1]: expected a package name or { name, state, version, recommends }, got 42\n  hint: write a Debian package name such as htop, or { name: htop, state: absent }',
        'personas/media/persona.yaml:18:14 workloads.stacks[0].env.KEY: expected a secret reference like { secret: media/jellyfin-api-key }, got a map\n' +
          '  hint: did you mean "secret"? A reference is { secret: <persona>/<name> }',
        'personas/media/persona.yaml:19:26 workloads.stacks[0].env.OTHER.secret: expected a secret name like "media/jellyfin-api-key", got "Web/Key"\n' +
          '  hint: names are lowercase path segments of letters, digits, ".", "_" and "-", separated by "/"',
        'personas/media/persona.yaml:20:15 workloads.stacks[0].env.LIST: expected a value or a secret reference like { secret: media/jellyfin-api-key }, got a list\n  hint: see workloads.stacks[].env.LIST in docs/persona-reference.md',
      ]);
    } finally {
      l.cleanup();
    }
  });
});
