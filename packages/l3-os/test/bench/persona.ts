import { emptyIntent, type L3Intent } from '@lab/l3-os';

export const PACKAGES = ['htop', 'jq', 'tree', 'curl', 'less', 'rsync', 'tmux', 'cron', 'at', 'lsof'];
export const USERS = ['alice', 'bob', 'carol', 'dave'];
export const DIRECTORIES = ['/srv/data', '/srv/data/media', '/srv/backup', '/opt/app', '/var/lib/app'];
export const SYSCTL = { 'vm.swappiness': 10, 'net.core.somaxconn': 1024, 'fs.inotify.max_user_watches': 524288 } as const;
export const SERVICES = ['ssh.service', 'cron.service', 'atd.service'];
export const SSHD_LINES = [
  { line: 'MaxAuthTries 4', match: '^#?MaxAuthTries\\s' },
  { line: 'X11Forwarding no', match: '^#?X11Forwarding\\s' },
];

export function files(): { path: string; content: string; mode: string; owner: string; group: string }[] {
  const out = [];
  for (let i = 1; i <= 6; i++) out.push({ path: `/etc/lab-bench/conf-${i}.conf`, content: `# bench file ${i}\nvalue=${i}\n`, mode: '0644', owner: 'root', group: 'root' });
  out.push({ path: '/opt/app/config.yaml', content: 'listen: 127.0.0.1:8080\nlog: info\n', mode: '0640', owner: 'alice', group: 'media' });
  out.push({ path: '/etc/motd', content: 'bench guest: managed\n', mode: '0644', owner: 'root', group: 'root' });
  return out;
}

/**
 * The reference persona of the benchmark, about 35 resources: 10 packages, 4 users with groups
 * and keys, 5 directories, 8 files, 3 sysctl, 2 sshd_config lines, 3 services, a time zone.
 */
export function referenceIntent(persona: string, hostname: string, keys: readonly string[]): L3Intent {
  return {
    ...emptyIntent(persona),
    hostname,
    timezone: 'Europe/Paris',
    locale: 'en_US.UTF-8',
    packages: PACKAGES.map((name) => ({ name, state: 'present' as const })),
    groups: [
      { name: 'media', gid: 2000, system: false, state: 'present' },
      { name: 'backup', gid: 2001, system: false, state: 'present' },
    ],
    users: USERS.map((name, i) => ({
      name,
      groups: i % 2 === 0 ? ['media'] : ['media', 'backup'],
      shell: '/bin/bash',
      home: `/home/${name}`,
      system: false,
      state: 'present' as const,
      sudo: i === 0 ? ('nopasswd' as const) : ('none' as const),
      sshKeys: [keys[i]!],
    })),
    directories: DIRECTORIES.map((path) => ({ path, mode: '0755', owner: 'root', group: 'root', state: 'present' as const })),
    files: files().map((f) => ({ ...f, state: 'present' as const })),
    sysctl: { ...SYSCTL },
    lines: SSHD_LINES.map((l) => ({ path: '/etc/ssh/sshd_config', ...l, state: 'present' as const, create: false })),
    services: SERVICES.map((name) => ({ name, enabled: true, state: 'running' as const, masked: false, restartOn: [] })),
  };
}
