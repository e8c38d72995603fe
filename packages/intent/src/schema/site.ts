import { z } from 'zod';
import { secretRefSchema } from '../secret-ref.js';
import {
  absPath,
  bool,
  cidr4,
  dnsLabel,
  host,
  httpUrl,
  int,
  ipv4,
  msg,
  name,
  obj,
  oneOf,
  pattern,
  port,
  relPath,
  size,
  text,
} from './_leaf.js';
import { inSubnet } from './persona-vm.js';
import { bakeSchema, IMAGE_REF } from './site-bake.js';

// Examples must validate against their own pattern: editors offer them as completions.
const FINGERPRINT_EXAMPLE = '5B:0E:8C:31:D2:47:A9:16:F3:6C:88:02:BE:49:7D:E5:13:A0:6F:C4:29:91:5E:D7:0B:84:3A:F6:62:1C:9D:E8';
const SHA256_EXAMPLE = '2c4e3b9a7f1d6e05b8a3c9d2e7f41a6b0c5d8e3f2a1b9c7d6e4f3a2b1c0d9e8f';

const CONTENT = ['images', 'rootdir', 'iso', 'import', 'backup', 'snippets', 'vztmpl'] as const;

/** Client settings shared by both modes (adr/0155, adr/0157). */
const proxmoxTuning = () => ({
  connections: int(1, 256, 'a number of connections')
    .default(16)
    .describe('Keep-alive HTTPS connections to the API, and so how many reads lab runs at once (e.g. the L2 plan).'),
  taskSilenceTimeout: int(10, 86_400, 'a number of seconds')
    .default(600)
    .describe('Seconds a Proxmox task may go without a new log line or status change before lab gives up waiting (the task keeps running on the node).'),
});

function proxmox() {
  const embedded = obj({
    mode: z.literal('embedded').describe('Run the bundled Proxmox VE simulator in-process.'),
    nodes: int(1, 16, 'a number of nodes').default(3).describe('Simulated cluster nodes, named `pve1`…`pveN` unless `nodes` lists names.'),
    guests: oneOf(['docker', 'none']).default('docker').describe('`docker`: every VM is a real Debian container; `none`: API only.'),
    stateDir: z.string().default('.lab/sim').describe('Simulator state, relative to the lab root.'),
    version: pattern(/^(8\.4|9\.1)$/, 'a Proxmox VE release the simulator speaks (8.4 or 9.1)', '9.1')
      .optional()
      .describe('Proxmox VE release the simulator speaks: `8.4` (default) or `9.1`.'),
    ...proxmoxTuning(),
  });
  const remote = obj({
    mode: z.literal('remote').describe('A real Proxmox VE cluster.'),
    url: pattern(/^https:\/\/[^\s/]+(?::\d+)?\/?$/, 'an https URL of the Proxmox API', 'https://pve1.home.arpa:8006').describe('API endpoint (any cluster node).'),
    fingerprint: pattern(
      /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/,
      'a SHA-256 certificate fingerprint',
      FINGERPRINT_EXAMPLE,
      'copy it from the node: `pvenode cert info --output-format json | jq -r ".[].fingerprint"`; TLS is verified against this pin',
    ).describe('Pinned SHA-256 fingerprint of the API certificate.'),
    tokenId: pattern(/^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z0-9._-]+$/, 'an API token id', 'lab@pve!lab').describe('API token id `<user>@<realm>!<token>`.'),
    tokenSecret: secretRefSchema().describe('The API token secret (a UUID) as a secret reference.'),
    ...proxmoxTuning(),
  });
  return z
    .discriminatedUnion('mode', [embedded, remote], {
      error: (iss) => {
        const input = (iss.input ?? {}) as Record<string, unknown>;
        return msg(
          `expected mode "embedded" or "remote", got ${JSON.stringify(input['mode'] ?? null)}`,
          'mode: embedded runs the bundled simulator; mode: remote needs url, fingerprint, tokenId and tokenSecret',
        );
      },
    })
    .describe('Where the Proxmox API is.');
}

function bridge() {
  return obj({
    name: pattern(/^[a-z][a-z0-9_.-]{0,14}$/, 'a bridge name', 'vmbr0').describe('Linux bridge name, as in /etc/network/interfaces.'),
    vlanAware: bool().default(false).describe('Bridge passes 802.1Q tags; VMs choose a VLAN with `nics[].vlan`.'),
    cidr: cidr4('10.0.0.0/24').optional().describe('Untagged network on this bridge.'),
    gateway: ipv4('10.0.0.1').optional().describe('Gateway of the untagged network.'),
    vlans: z
      .array(
        obj({
          id: int(1, 4094, 'a VLAN id (1-4094)').describe('802.1Q VLAN id.'),
          name: text('a name').optional().describe('What the VLAN is for, e.g. `servers`.'),
          cidr: cidr4('10.0.10.0/24').optional().describe('Network of the VLAN; static persona addresses on it must lie inside.'),
          gateway: ipv4('10.0.10.1').optional().describe('Gateway of the VLAN.'),
        }),
      )
      .default([])
      .describe('VLANs carried by a VLAN-aware bridge.'),
    nodes: z.array(name('pve1')).optional().describe('Nodes that have this bridge; all nodes when omitted.'),
  });
}

function image() {
  return obj({
    name: pattern(/^[a-z0-9][a-z0-9.-]*$/, 'an image name', 'debian-12').describe('Name personas refer to as `<name>@stable` or `<name>@<version>`.'),
    os: oneOf(['debian', 'ubuntu', 'fedora', 'rocky', 'alma', 'centos', 'arch', 'alpine', 'opensuse']).describe('OS family; selects the guest-side tooling.'),
    stable: text('a version').optional().describe('The version `<name>@stable` resolves to; one of `versions`. A baked image leaves it out: its stable version is the one its profile makes.'),
    from: pattern(IMAGE_REF, 'an image reference', 'debian-12@stable', 'the base image of the catalogue, as `<name>@stable` or `<name>@<version>`')
      .optional()
      .describe('Baked image: the base image version it is built from (`debian-12@stable`). Its versions are derived: `<base version>-<profile hash>`.'),
    bake: bakeSchema().optional().describe('Baked image: what L1 converges on a clone of the base before templating it (adr/0145).'),
    versions: z
      .array(
        obj({
          version: pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a version', '20250428-2096').describe('Release identifier, as in the upstream directory name.'),
          url: httpUrl('https://cloud.debian.org/images/cloud/bookworm/20250428-2096/debian-12-genericcloud-amd64-20250428-2096.qcow2').describe(
            'Cloud image to download onto the nodes.',
          ),
          checksum: obj({
            algorithm: oneOf(['sha256', 'sha512']).describe('Digest algorithm.'),
            value: pattern(/^(?:[0-9a-f]{64}|[0-9a-f]{128})$/, 'a lower-case hex digest', SHA256_EXAMPLE).describe('Expected digest; a download that differs is discarded.'),
          }).describe('Digest from the upstream SHA256SUMS/SHA512SUMS of the same release.'),
        }),
      )
      .default([])
      .describe('Pinned releases of the image (not for a baked image: its versions derive from `from` and `bake`).'),
    format: oneOf(['qcow2', 'raw', 'vmdk']).default('qcow2').describe('Disk format of the download.'),
    storage: name('local').optional().describe('Storage the image is imported to (needs `import` or `iso` content); a baked image uses its base\'s.'),
    diskStorage: name('local-lvm')
      .optional()
      .describe('Storage of the template disk and its cloud-init drive (needs `images` content); default: the first storage with `images` content on the node.'),
    nodes: z.array(name('pve1')).optional().describe('Nodes to place the image on; all nodes when omitted.'),
    cloudInit: obj({
      user: name('debian').default('debian').describe('Default user of the image (the bootstrap account lab uses once).'),
      packages: z.array(text('a package')).default([]).describe('Packages cloud-init installs at first boot.'),
    })
      .prefault({})
      .describe('cloud-init defaults for VMs made from this image.'),
    serialConsole: bool().default(true).describe('Add a serial console (cloud images log boot output there).'),
    guestAgent: bool().default(true).describe('Enable the QEMU guest agent (the image must ship it or cloud-init installs it).'),
  });
}

function repository() {
  return obj({
    name: name('local').describe('Name personas use in `capture.repository`.'),
    type: oneOf(['local', 'sftp']).describe('`local`: a directory on the machine running lab; `sftp`: a restic SFTP repository.'),
    path: z.string().optional().describe('Directory of a local repository (relative paths are relative to the lab root).'),
    url: pattern(/^sftp:[^\s]+$/, 'an sftp URL', 'sftp:backup@nas.home.arpa:/srv/restic/lab').optional().describe('Repository URL of an sftp repository.'),
    password: secretRefSchema().describe('Repository password as a secret reference.'),
  }).superRefine((r, ctx) => {
    if (r.type === 'local' && r.path === undefined) ctx.addIssue({ code: 'custom', path: [], message: msg('a local repository needs a path', 'add path: /srv/backup/restic') });
    if (r.type === 'sftp' && r.url === undefined) ctx.addIssue({ code: 'custom', path: [], message: msg('an sftp repository needs a url', 'add url: sftp:user@host:/path') });
    if (r.type === 'local' && r.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'url is for sftp repositories; a local one uses path' });
    if (r.type === 'sftp' && r.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'path is for local repositories; an sftp one uses url' });
  });
}

// Docker's reference grammar (distribution/reference), or a prefix ending in "/". L4 checks the
// pairs further (a prefix maps to a prefix) when it applies them.
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_OR_PREFIX = new RegExp(
  `^(?:[A-Za-z0-9.-]+(?::\\d+)?/)?${PATH_PART}(?:/${PATH_PART})*(?:/|(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?)$`,
);

function workloads() {
  const ref = (example: string) =>
    pattern(IMAGE_OR_PREFIX, 'an image reference or a prefix ending in "/"', example, 'repo, repo:tag, repo@sha256:…, or registry/namespace/ for a whole prefix');
  return obj({
    imageOverrides: z
      .record(ref('prom/prometheus'), ref('registry.home.arpa/prom/prometheus:v3.4.1'))
      .default({})
      .meta({ examples: [{ 'prom/prometheus:v3.4.1': 'registry.home.arpa/prom/prometheus:v3.4.1', 'docker.io/': 'registry.home.arpa/hub/' }] })
      .describe(
        'Run other images than the compose files name: a registry mirror, an air-gapped copy, local builds. Keys: `repo:tag` (that image), `repo` (every tag), `prefix/` (every image below it; the value is a prefix too). The plan notes every rewrite (adr/0120).',
      ),
    imageDelivery: oneOf(['registry', 'push'])
      .default('registry')
      .describe(
        'How a guest gets the images its stacks run: `registry`: Compose pulls them; `push`: lab streams each missing image from this workstation\'s Docker engine into the guest over SSH (`docker save` → `docker load`), skipped when the guest holds that image ID (adr/0150). A persona\'s `workloads.imageDelivery` wins.',
      ),
    allowStandIns: bool()
      .default(false)
      .describe(
        'Let lab push stand-in images (labelled `dev.lab.stand-in`: they answer health checks only, tools/test-images) to personas whose lifecycle stage is `stable`. Off by default: a stable persona never runs a stand-in by accident (adr/0151).',
      ),
  })
    .prefault({})
    .describe('Site-wide settings of layer L4 (Docker Compose workloads).');
}

function siteObject() {
  return obj({
    name: dnsLabel('homelab').describe('Site name; prefixes Proxmox pools and tags.'),
    domain: pattern(/^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/, 'a domain', 'home.arpa').optional().describe('DNS domain of the lab.'),
    proxmox: proxmox(),
    nodes: z
      .array(
        obj({
          name: dnsLabel('pve1').describe('Node name, as Proxmox knows it.'),
          address: host('10.0.10.2').optional().describe('Management address (SSH, jump host).'),
          cores: int(1, 1024, 'a number of cores').describe('Physical cores available to guests.'),
          memory: size().describe('Memory available to guests.'),
        }),
      )
      .min(1, { error: () => 'the site needs at least one node' })
      .describe('Proxmox nodes.'),
    storages: z
      .array(
        obj({
          name: name('local-lvm').describe('Storage id, as in storage.cfg.'),
          type: oneOf(['dir', 'lvm', 'lvmthin', 'zfspool', 'btrfs', 'nfs', 'cifs', 'cephfs', 'rbd', 'pbs']).describe('Proxmox storage type.'),
          content: z.array(oneOf(CONTENT)).min(1).describe('Content types the storage accepts.'),
          path: absPath('/var/lib/vz').optional().describe('Directory of a `dir` storage.'),
          nodes: z.array(name('pve1')).optional().describe('Nodes with this storage; all when omitted.'),
          shared: bool().default(false).describe('Same storage on every node (NFS, Ceph); lets VMs migrate without copying disks.'),
        }),
      )
      .min(1, { error: () => 'the site needs at least one storage' })
      .describe('Proxmox storages.'),
    bridges: z.array(bridge()).min(1, { error: () => 'the site needs at least one bridge' }).describe('Linux bridges on the nodes.'),
    ssh: obj({
      user: name('lab').default('lab').describe('Account lab creates in every guest and logs in as.'),
      identityFile: z.string().default('~/.ssh/id_ed25519').describe('Private key lab uses (its public key is installed for `user`).'),
      knownHosts: z.string().default('.lab/known_hosts').describe('known_hosts file lab manages (relative to the lab root); host keys are pinned at first boot from cloud-init, never trusted on first use.'),
      port: port().default(22).describe('SSH port of the guests.'),
      connectTimeout: z.number().int().positive().default(10).describe('Seconds to wait for a TCP connection.'),
      silenceTimeout: int(5, 86_400, 'a number of seconds')
        .default(180)
        .describe('Seconds a guest command may print nothing before lab takes it for hung and stops it; a command that keeps printing (apt progress) is never cut by this.'),
      commandTimeout: int(60, 604_800, 'a number of seconds')
        .default(21_600)
        .describe('Safety bound on one guest command that keeps printing but never ends.'),
      jumpHost: obj({
        host: host('pve1.home.arpa').describe('Bastion, usually a Proxmox node with a leg in every VLAN.'),
        port: port().default(22).describe('SSH port of the jump host.'),
        user: name('root').default('root').describe('Account on the jump host.'),
      })
        .optional()
        .describe('Reach guests through this host (ProxyJump).'),
    })
      .prefault({})
      .describe('How lab reaches guests (layer L3).'),
    secrets: obj({
      dir: relPath('secrets').default('secrets').describe('Folder of age-encrypted secrets, relative to the lab root.'),
      recipients: z
        .array(pattern(/^age1[02-9ac-hj-np-z]{58}$/, 'an age public key', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p', 'generate one with `age-keygen -y ~/.config/lab/age.key`'))
        .min(1, { error: () => msg('secrets need at least one age recipient', 'add the public key printed by `age-keygen`') })
        .describe('age public keys every secret is encrypted to.'),
    }).describe('The encrypted secrets store.'),
    images: z.array(image()).default([]).describe('Image catalogue (layer L1).'),
    repositories: z.array(repository()).default([]).describe('Backup repositories for `capture`.'),
    workloads: workloads(),
    parallelism: obj({
      vms: int(1, 64, 'a number of VMs').default(4).describe('VMs layer L2 creates, configures and starts at once across the cluster.'),
      perNode: int(1, 64, 'a number of VMs').default(2).describe('VMs L2 works on at once on one node (clones and disk allocation load its storage).'),
      nodes: z.record(dnsLabel('pve1'), int(1, 64, 'a number of VMs')).default({}).describe('Per-node overrides of `perNode`, by node name.'),
      guests: int(1, 256, 'a number of guests')
        .optional()
        .describe('Guests layers L3 and L4 check or converge at once, one SSH connection each (`lab check --all`). Default: the CPU cores available to lab.'),
    })
      .prefault({})
      .describe('How much lab does at once (adr/0160). Guest-agent waits are not counted: a booting VM costs lab nothing.'),
  });
}

function checkSite(s: z.output<ReturnType<typeof siteObject>>, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  const nodes = new Set(s.nodes.map((n) => n.name));
  const storages = new Map(s.storages.map((st) => [st.name, st]));
  const unknownNode = (n: string, path: (string | number)[]): void => {
    if (!nodes.has(n)) issue(path, msg(`no node named "${n}"`, `nodes: ${[...nodes].join(', ')}`));
  };
  const unique = (items: readonly { name: string }[], what: string, path: string): void => {
    const seen = new Set<string>();
    items.forEach((it, i) => {
      if (seen.has(it.name)) issue([path, i, 'name'], `duplicate ${what} "${it.name}"`);
      seen.add(it.name);
    });
  };
  unique(s.nodes, 'node', 'nodes');
  unique(s.storages, 'storage', 'storages');
  unique(s.bridges, 'bridge', 'bridges');
  unique(s.images, 'image', 'images');
  unique(s.repositories, 'repository', 'repositories');
  for (const n of Object.keys(s.parallelism.nodes)) unknownNode(n, ['parallelism', 'nodes', n]);
  if (s.proxmox.mode === 'embedded' && s.proxmox.nodes !== s.nodes.length) {
    issue(['proxmox', 'nodes'], msg(`the simulator runs ${s.proxmox.nodes} nodes but ${s.nodes.length} are listed under nodes`, 'make the two agree'));
  }
  s.storages.forEach((st, i) => {
    st.nodes?.forEach((n, j) => unknownNode(n, ['storages', i, 'nodes', j]));
    if (st.type === 'dir' && st.path === undefined) issue(['storages', i], msg('a dir storage needs a path', 'add path: /var/lib/vz'));
  });
  s.bridges.forEach((br, i) => {
    br.nodes?.forEach((n, j) => unknownNode(n, ['bridges', i, 'nodes', j]));
    if (!br.vlanAware && br.vlans.length > 0) issue(['bridges', i, 'vlans'], msg('VLANs on a bridge that is not VLAN-aware', 'add vlanAware: true'));
    if (br.gateway !== undefined && br.cidr !== undefined && !inSubnet(br.gateway, br.cidr)) issue(['bridges', i, 'gateway'], `gateway ${br.gateway} is outside ${br.cidr}`);
    const ids = new Set<number>();
    br.vlans.forEach((v, j) => {
      if (ids.has(v.id)) issue(['bridges', i, 'vlans', j, 'id'], `duplicate VLAN ${v.id}`);
      ids.add(v.id);
      if (v.gateway !== undefined && v.cidr !== undefined && !inSubnet(v.gateway, v.cidr)) issue(['bridges', i, 'vlans', j, 'gateway'], `gateway ${v.gateway} is outside ${v.cidr}`);
    });
  });
  const byName = new Map(s.images.map((im) => [im.name, im]));
  s.images.forEach((im, i) => {
    if (im.from !== undefined || im.bake !== undefined) {
      checkBaked(im, i, byName, issue);
      return;
    }
    if (im.versions.length === 0) issue(['images', i, 'versions'], msg('an image needs at least one version', 'add versions: [{ version, url, checksum }], or make it a baked image with from: and bake:'));
    if (im.stable === undefined) issue(['images', i], msg('an image needs a stable version', `add stable: ${im.versions[0]?.version ?? '<version>'}`));
    else if (!im.versions.some((v) => v.version === im.stable)) {
      issue(['images', i, 'stable'], msg(`stable version "${im.stable}" is not listed under versions`, `versions: ${im.versions.map((v) => v.version).join(', ')}`));
    }
    im.versions.forEach((v, j) => {
      const want = v.checksum.algorithm === 'sha256' ? 64 : 128;
      // Other lengths already fail the digest pattern; this catches a digest of the other algorithm.
      const len = v.checksum.value.length;
      if ((len === 64 || len === 128) && len !== want) issue(['images', i, 'versions', j, 'checksum', 'value'], `a ${v.checksum.algorithm} digest has ${want} hex digits, got ${v.checksum.value.length}`);
    });
    const st = im.storage === undefined ? undefined : storages.get(im.storage);
    if (im.storage === undefined) issue(['images', i], msg('an image needs a storage to import to', 'add storage: local (a storage with import content)'));
    else if (st === undefined) issue(['images', i, 'storage'], msg(`no storage named "${im.storage}"`, `storages: ${[...storages.keys()].join(', ')}`));
    else if (!st.content.includes('import') && !st.content.includes('iso')) issue(['images', i, 'storage'], msg(`storage "${im.storage}" does not accept images for import`, 'add import to its content'));
    if (im.diskStorage !== undefined) {
      const ds = storages.get(im.diskStorage);
      if (ds === undefined) issue(['images', i, 'diskStorage'], msg(`no storage named "${im.diskStorage}"`, `storages: ${[...storages.keys()].join(', ')}`));
      else if (!ds.content.includes('images')) issue(['images', i, 'diskStorage'], msg(`storage "${im.diskStorage}" does not hold VM disks`, 'use a storage with images content, e.g. local-lvm'));
    }
    im.nodes?.forEach((n, j) => unknownNode(n, ['images', i, 'nodes', j]));
  });
}

type SiteData = z.output<ReturnType<typeof siteObject>>;

function checkBaked(im: SiteData['images'][number], i: number, byName: ReadonlyMap<string, SiteData['images'][number]>, issue: (path: (string | number)[], message: string) => void): void {
  if (im.from === undefined) {
    issue(['images', i, 'bake'], msg('a baked image needs the base it is built from', 'add from: debian-12@stable'));
    return;
  }
  if (im.bake === undefined) issue(['images', i, 'from'], msg('an image with from: needs a bake: profile', 'add bake: { include: [_mixins/base.yaml] }'));
  if (im.versions.length > 0) issue(['images', i, 'versions'], msg('a baked image derives its versions from from: and bake:', 'remove versions: (lab names each bake <base version>-<profile hash>)'));
  if (im.stable !== undefined) issue(['images', i, 'stable'], msg('a baked image derives its stable version', 'remove stable:; `lab image promote` moves channels as for any image'));
  const at = im.from.lastIndexOf('@');
  const baseName = at < 0 ? im.from : im.from.slice(0, at);
  const version = at < 0 ? 'stable' : im.from.slice(at + 1);
  const base = byName.get(baseName);
  if (base === undefined) issue(['images', i, 'from'], msg(`no image "${baseName}" in the catalogue`, `images: ${[...byName.keys()].join(', ')}`));
  else if (base.from !== undefined || base.bake !== undefined) issue(['images', i, 'from'], msg(`${baseName} is itself baked; a bake starts from a downloaded image`, 'put both profiles in one bake: include the other image\'s mixins'));
  else if (version !== 'stable' && version !== 'canary' && !base.versions.some((v) => v.version === version)) issue(['images', i, 'from'], msg(`image ${baseName} has no version "${version}"`, `versions: ${base.versions.map((v) => v.version).join(', ')}; or ${baseName}@stable`));
  else if (version === 'canary') issue(['images', i, 'from'], msg('a bake starts from a version lab.yaml pins', `use ${baseName}@stable or ${baseName}@<version>`));
}

function finalSite() {
  return siteObject().superRefine(checkSite);
}

let cached: ReturnType<typeof finalSite> | undefined;

/** The schema of `lab.yaml` (built on first use). */
export function siteSchema(): ReturnType<typeof finalSite> {
  cached ??= finalSite();
  return cached;
}

export function siteFileSchema(): z.ZodType {
  return siteObject().meta({ title: 'lab site', description: 'The site: Proxmox endpoint, nodes, storages, networks, images, secrets and backup repositories.' });
}
