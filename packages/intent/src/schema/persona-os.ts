import { z } from 'zod';
import { secretRefSchema } from '../secret-ref.js';
import type { Build } from './_build.js';
import { fileSpec } from './_files.js';
import {
  absPath,
  bool,
  cidr4,
  dnsLabel,
  duration,
  fileMode,
  got,
  host,
  httpUrl,
  int,
  ipv4,
  msg,
  name,
  nonEmpty,
  obj,
  oneOf,
  owner,
  pattern,
  relPath,
  scalar,
  size,
  text,
} from './_leaf.js';

const SSH_KEY = /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: .*)?$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

function timezone() {
  return text('a time zone')
    .refine(isTimeZone, { error: (iss) => msg(`unknown time zone ${JSON.stringify(iss.input)}`, 'use an IANA name like "Europe/Paris" or "Etc/UTC"') })
    .meta({ examples: ['Europe/Paris'] });
}

let canonicalZones: ReadonlySet<string> | undefined;

/**
 * The canonical list is cheap (~2 ms); constructing a DateTimeFormat loads ICU zone data
 * (~10 ms), so it is only the fallback for aliases such as `UTC` or `US/Eastern`.
 */
function isTimeZone(tz: string): boolean {
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function users(b: Build) {
  return b.list(
    'os.users',
    obj({
      name: name('alice').describe('Login name.'),
      uid: int(0, 4_294_967_294, 'a uid').optional().describe('Fixed uid (keep it stable when data on NFS or persistent disks is owned by it).'),
      comment: text().optional().describe('GECOS comment, e.g. the full name.'),
      groups: b.list('os.users[].groups', name('docker')).default([]).describe('Supplementary groups; created when missing.'),
      shell: absPath('/bin/bash').default('/bin/bash').describe('Login shell.'),
      home: absPath('/home/alice').optional().describe('Home directory; defaults to /home/<name>.'),
      sudo: oneOf(['none', 'password', 'nopasswd']).default('none').describe('sudo rights: none, with the user password, or without a password.'),
      sshKeys: b.list('os.users[].sshKeys', pattern(SSH_KEY, 'an OpenSSH public key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILKhU8A1RQWkloxV+AvNnpdglKMP7onKCqxp5FDU8G+2 alice@laptop')).default([]).describe(
        'Authorized public keys; lab manages the whole authorized_keys file.',
      ),
      passwordHash: secretRefSchema().optional().describe('Secret holding a crypt(3) hash (`mkpasswd -m yescrypt`); omit for key-only login.'),
      system: bool().default(false).describe('System account (no aging, uid below 1000).'),
      state: oneOf(['present', 'absent']).default('present').describe('`absent` removes the account (the home directory is kept).'),
    }),
  );
}

function packages(b: Build) {
  const pkg = pattern(PACKAGE, 'a Debian package name', 'htop');
  const full = obj({
    name: pkg.describe('Package name.'),
    state: oneOf(['present', 'absent', 'latest', 'held'])
      .default('present')
      .describe('`present` installs once, `latest` upgrades on every apply, `held` pins the installed (or given) version, `absent` purges.'),
    version: text('a version').optional().describe('Exact version to install, e.g. `5:27.5.1-1~debian.12~bookworm`.'),
    recommends: bool()
      .optional()
      .describe("Also install the package's recommended packages. lab installs without them unless this is `true` (`--no-install-recommends`): leaner, faster guests."),
  });
  const item = z
    .union([pkg, full], { error: (iss) => msg(`expected a package name or { name, state, version, recommends }, got ${got(iss.input)}`, 'write a Debian package name such as htop, or { name: htop, state: absent }') })
    .transform((p) => (typeof p === 'string' ? { name: p, state: 'present' as const } : p));
  return b.list('os.packages', item);
}

function apt(b: Build) {
  return obj({
    proxy: httpUrl('http://10.0.10.5:3142').optional().describe('HTTP proxy for apt, e.g. an apt-cacher-ng.'),
    repositories: b
      .list(
        'os.apt.repositories',
        obj({
          name: name('docker').describe('File name of the deb822 source under /etc/apt/sources.list.d/.'),
          uris: b.req(z.array(httpUrl('https://download.docker.com/linux/debian')).min(1)).describe('Repository URIs.'),
          suites: b.req(z.array(nonEmpty('a suite')).min(1)).describe('Suites, e.g. `bookworm`.'),
          components: z.array(nonEmpty('a component')).default(['main']).describe('Components, e.g. `main`, `stable`.'),
          architectures: z.array(nonEmpty('an architecture')).optional().describe('Restrict to these architectures, e.g. `amd64`.'),
          signedBy: b
            .req(
              obj({
                url: httpUrl('https://download.docker.com/linux/debian/gpg').optional().describe('Where to fetch the signing key (ASCII-armoured or binary).'),
                file: relPath('keys/repo.asc').optional().describe('Key file next to the YAML that declares it; resolved to a lab-root-relative path.'),
                fingerprint: pattern(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/, 'an OpenPGP fingerprint (40 or 64 upper-case hex digits)', '9DC858229FC7DD38854AE2D88D81803C0EBFCD88')
                  .optional()
                  .describe('Expected key fingerprint; required with `url`, so a swapped key fails the apply.'),
              }).superRefine((s, ctx) => {
                if (b.mode !== 'final') return;
                if ((s.url === undefined) === (s.file === undefined)) ctx.addIssue({ code: 'custom', message: msg('signedBy needs exactly one of url or file') });
                if (s.url !== undefined && s.fingerprint === undefined)
                  ctx.addIssue({ code: 'custom', path: ['url'], message: msg('a key fetched from a URL must be pinned', 'add fingerprint: <40 hex digits>, from `gpg --show-keys <key>`') });
              }),
            )
            .describe('Signing key, written to /etc/apt/keyrings/<name>.asc and referenced by Signed-By.'),
        }),
      )
      .default([])
      .describe('Extra apt repositories (deb822 format).'),
  });
}

function systemd(b: Build) {
  return obj({
    units: b
      .list(
        'os.systemd.units',
        obj({
          name: pattern(/^[A-Za-z0-9@_.:-]+\.(?:service|timer|socket|mount|path|target)$/, 'a unit name', 'restic-check.timer').describe('Unit file name with its type suffix.'),
          content: b.req(nonEmpty('unit file content')).describe('Unit file content, written to /etc/systemd/system/<name>.'),
        }),
      )
      .default([])
      .describe('Unit files lab writes; lab reloads systemd when one changes.'),
    services: b
      .list(
        'os.systemd.services',
        obj({
          name: pattern(/^[A-Za-z0-9@_.:-]+$/, 'a unit name', 'docker.service').describe('Unit name; `.service` may be omitted.'),
          enabled: bool().default(true).describe('Start at boot.'),
          state: oneOf(['running', 'stopped']).default('running').describe('Desired state after apply.'),
          masked: bool().default(false).describe('Mask the unit so nothing can start it.'),
          restartOn: z.array(absPath('/etc/caddy/Caddyfile')).default([]).describe('Restart the service when any of these managed files changes.'),
        }),
      )
      .default([])
      .describe('State of services (units from packages or from `units`).'),
  });
}

function firewall(b: Build) {
  return obj({
    enabled: bool().default(false).describe('Manage an nftables ruleset in the guest.'),
    policy: obj({
      input: oneOf(['drop', 'accept']).default('drop').describe('Traffic to the guest.'),
      forward: oneOf(['drop', 'accept']).default('drop').describe('Traffic through the guest (Docker publishes ports through this chain).'),
      output: oneOf(['drop', 'accept']).default('accept').describe('Traffic from the guest.'),
    })
      .prefault({})
      .describe('Default policy per chain. Established traffic and loopback are always allowed.'),
    allowPing: bool().default(true).describe('Accept ICMP/ICMPv6 echo requests.'),
    allow: b
      .list(
        'os.firewall.allow',
        obj({
          name: name('ssh').describe('Rule name, used as the nftables comment and the merge key.'),
          port: z
            .union([int(1, 65_535, 'a port'), pattern(/^\d{1,5}-\d{1,5}$/, 'a port range', '8000-8010')], {
              error: () => msg('expected a port like 443 or a range like "8000-8010"'),
            })
            .describe('Port or range.'),
          proto: oneOf(['tcp', 'udp']).default('tcp').describe('Transport protocol.'),
          from: z.array(cidr4('10.0.10.0/24')).default([]).describe('Source networks; empty means anywhere.'),
          iface: pattern(/^[a-z0-9]+$/, 'an interface name', 'eth0').optional().describe('Only on this interface.'),
        }),
      )
      .default([])
      .describe('Inbound rules, applied on top of the input policy.'),
  });
}

export function osSchema(b: Build) {
  return obj({
    hostname: dnsLabel('media').optional().describe('Host name; defaults to the persona name.'),
    domain: pattern(/^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/, 'a domain', 'home.arpa').optional().describe('DNS domain; the FQDN is `<hostname>.<domain>`.'),
    timezone: timezone().default('Etc/UTC').describe('IANA time zone.'),
    locale: pattern(/^(?:C|POSIX|[a-z]{2,3}_[A-Z]{2})(?:\.UTF-8)?(?:@[a-z]+)?$/, 'a locale', 'en_US.UTF-8').default('en_US.UTF-8').describe('System locale (generated when missing).'),
    users: users(b).default([]).describe('Local accounts.'),
    groups: b
      .list(
        'os.groups',
        obj({
          name: name('media').describe('Group name.'),
          gid: int(0, 4_294_967_294, 'a gid').optional().describe('Fixed gid, e.g. to match file ownership on a NAS.'),
          system: bool().default(false).describe('System group (gid below 1000).'),
          state: oneOf(['present', 'absent']).default('present').describe('`absent` removes the group.'),
        }),
      )
      .default([])
      .describe('Local groups.'),
    packages: packages(b).default([]).describe('Debian packages: a name, or `{ name, state, version, recommends }`. Installed without recommended packages unless `recommends: true`.'),
    apt: apt(b).prefault({}).describe('apt configuration.'),
    files: fileSpec(b, 'os.files', absPath('/etc/motd')).default([]).describe('Files in the guest.'),
    directories: b
      .list(
        'os.directories',
        obj({
          path: absPath('/srv/media').describe('Directory path.'),
          mode: fileMode('0755').default('0755').describe('Permissions, quoted octal (e.g. `"2775"` for a shared group directory).'),
          owner: owner('root').default('root').describe('Owning user (name or numeric uid).'),
          group: owner('root').default('root').describe('Owning group (name or numeric gid).'),
          state: oneOf(['present', 'absent']).default('present').describe('`absent` removes the directory only when it is empty.'),
        }),
      )
      .default([])
      .describe('Directories in the guest (parents are created as needed).'),
    lines: b
      .list(
        'os.lines',
        obj({
          path: absPath('/etc/ssh/sshd_config').describe('File to edit.'),
          line: b.req(text('a line')).describe('The whole line as it should read.'),
          match: text('a regular expression').optional().describe('Regular expression of the line to replace; defaults to the line itself.'),
          state: oneOf(['present', 'absent']).default('present').describe('`absent` deletes lines matching `match` (or equal to `line`).'),
          create: bool().default(false).describe('Create the file when it does not exist.'),
        }),
      )
      .default([])
      .describe('Single lines in files not otherwise managed by lab (like Ansible lineinfile).'),
    blocks: b
      .list(
        'os.blocks',
        obj({
          path: absPath('/etc/hosts').describe('File to edit.'),
          marker: name('lab').describe('Names the block; lab writes `# BEGIN <marker>` / `# END <marker>` around it.'),
          content: b.req(text('block content')).describe('Lines between the markers.'),
          state: oneOf(['present', 'absent']).default('present').describe('`absent` removes the block and its markers.'),
        }),
      )
      .default([])
      .describe('Marked blocks of lines in files not otherwise managed by lab.'),
    sysctl: b
      .record(pattern(/^[a-z0-9_.\/-]+$/, 'a sysctl key', 'vm.swappiness'), scalar())
      .default({})
      .describe('Kernel parameters, written to /etc/sysctl.d/90-lab.conf and applied live.'),
    modules: b.list('os.modules', pattern(/^[a-z0-9_-]+$/, 'a kernel module name', 'br_netfilter')).default([]).describe('Kernel modules loaded at boot.'),
    systemd: systemd(b).prefault({}).describe('systemd units and services.'),
    firewall: firewall(b).prefault({}).describe('Host firewall (nftables).'),
    mounts: b
      .list(
        'os.mounts',
        obj({
          path: absPath('/mnt/nas/media').describe('Mount point.'),
          device: b.req(nonEmpty('a device')).describe('What to mount: `UUID=…`, `LABEL=…`, `/dev/…`, or `host:/export` for NFS, `//host/share` for CIFS.'),
          type: b.req(oneOf(['ext4', 'xfs', 'btrfs', 'vfat', 'nfs', 'nfs4', 'cifs', 'tmpfs', 'none'])).describe('Filesystem type (`none` with `bind` option for bind mounts).'),
          options: z.array(nonEmpty('a mount option')).default(['defaults']).describe('fstab options, e.g. `[nfsvers=4.2, _netdev, noatime]`.'),
          credentials: secretRefSchema().optional().describe('CIFS credentials file content (username=…/password=…) as a secret.'),
          dump: int(0, 1, '0 or 1').default(0).describe('fstab dump field.'),
          pass: int(0, 2, '0, 1 or 2').default(0).describe('fstab fsck order: 0 never, 1 root, 2 others.'),
          state: oneOf(['mounted', 'present', 'unmounted', 'absent']).default('mounted').describe('`present`: in fstab only; `mounted`: in fstab and mounted.'),
        }),
      )
      .default([])
      .describe('fstab entries, including NFS and CIFS shares.'),
    hosts: b
      .list('os.hosts', obj({ ip: ipv4('10.0.10.10').describe('Address.'), names: z.array(host('nas.home.arpa')).min(1).describe('Names for the address.') }))
      .default([])
      .describe('Static /etc/hosts entries.'),
    ntp: obj({ servers: b.list('os.ntp.servers', host('10.0.10.1')).default([]).describe('NTP servers for systemd-timesyncd; empty keeps the Debian pool.') })
      .optional()
      .describe('Time synchronisation.'),
    journald: obj({
      maxUse: size().optional().describe('Cap on persistent journal size (SystemMaxUse).'),
      maxRetention: duration().optional().describe('Drop entries older than this (MaxRetentionSec).'),
    })
      .optional()
      .describe('systemd-journald limits.'),
    swap: obj({
      size: b.req(size()).describe('Size of /swapfile; 0 removes it.'),
      swappiness: int(0, 200, 'a swappiness (0-200)').default(60).describe('vm.swappiness: how eagerly the kernel swaps.'),
    })
      .optional()
      .describe('A swap file (cloud images ship without swap).'),
    unattendedUpgrades: obj({
      enabled: bool().default(true).describe('Install security updates automatically.'),
      origins: b
        .list('os.unattendedUpgrades.origins', nonEmpty('an origin pattern'))
        .default([])
        .describe('Extra Origins-Pattern entries (Debian security updates are always included), e.g. `origin=Docker`.'),
      automaticReboot: bool().default(false).describe('Reboot when an update requires it.'),
      rebootTime: pattern(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'a time of day', '04:00').default('04:00').describe('When an automatic reboot may happen.'),
      removeUnused: bool().default(true).describe('Remove unused kernel packages and dependencies.'),
    })
      .optional()
      .describe('unattended-upgrades configuration.'),
  });
}
