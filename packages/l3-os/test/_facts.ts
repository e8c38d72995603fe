/**
 * Facts of a freshly booted lab guest (Debian 12 container image, cloud-init user `ops`), built
 * for whatever an intent asks: every required fact starts at its empty value, then gets what
 * such a guest really reports (captured from one). Planning against it shows a first apply.
 */
import { createHash } from 'node:crypto';
import { FactSet, factKey } from '../src/facts/fact.js';
import type { PathInfo } from '../src/facts/files.js';
import type { L3Intent } from '../src/intent.js';
import { requiredFacts } from '../src/plan.js';

export function textFile(content: string, mode = '0644', owner = 'root', group = 'root'): PathInfo {
  return { exists: true, type: 'file', mode, owner, group, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), content };
}

export const SSHD_CONFIG = [
  'Include /etc/ssh/sshd_config.d/*.conf',
  '#PermitRootLogin prohibit-password',
  '#MaxAuthTries 6',
  'KbdInteractiveAuthentication no',
  'UsePAM yes',
  'X11Forwarding yes',
  'PrintMotd no',
  'AcceptEnv LANG LC_*',
  'Subsystem\tsftp\t/usr/lib/openssh/sftp-server',
  '',
].join('\n');

const BASE_PACKAGES = ['adduser', 'apt', 'bash', 'ca-certificates', 'cloud-init', 'dbus', 'locales', 'openssh-server', 'sudo', 'systemd', 'tzdata'];

export function freshGuestFacts(intent: L3Intent, overrides: Readonly<Record<string, unknown>> = {}): FactSet {
  const values = new Map<string, unknown>();
  for (const f of requiredFacts(intent)) values.set(factKey(f), f.empty);
  const set = (key: string, value: unknown) => {
    if (values.has(key)) values.set(key, value);
  };
  set('deb.packages', Object.fromEntries(BASE_PACKAGES.map((n) => [n, { version: '1.0', selection: 'install', status: 'installed' }])));
  set('apt.lists', { updatedAt: 0, now: 1_800_000_000 });
  set('passwd', { root: { uid: 0, gid: 0, comment: 'root', home: '/root', shell: '/bin/bash' }, ops: { uid: 1000, gid: 1000, comment: '', home: '/home/ops', shell: '/bin/bash' } });
  set('group', Object.fromEntries([['root', 0], ['adm', 4], ['sudo', 27], ['systemd-journal', 999], ['ops', 1000]].map(([n, gid]) => [n, { gid, members: n === 'sudo' ? ['ops'] : [] }])));
  set('hostname', { transient: 'localhost', static: 'localhost' });
  set('timezone', { localtime: 'Etc/UTC', file: 'Etc/UTC' });
  set('locales', ['C', 'C.utf8', 'POSIX', 'en_US.utf8']);
  set('path[/etc/ssh/sshd_config]', textFile(SSHD_CONFIG));
  set('path[/etc/hosts]', textFile('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'));
  set('path[/etc/fstab]', textFile('# UNCONFIGURED FSTAB FOR BASE SYSTEM\n'));
  set('path[/etc/default/locale]', textFile('LANG=en_US.UTF-8\n'));
  set('systemd.unit[ssh.service]', { id: 'ssh.service', loadState: 'loaded', activeState: 'active', unitFileState: 'enabled', needDaemonReload: false, conditionMet: true });
  set('mounts', [{ target: '/', source: 'overlay', fstype: 'overlay', options: 'rw' }]);
  for (const key of values.keys()) if (key.startsWith('sysctl[')) values.set(key, { exists: true, value: '0', writable: false });
  // A VM fresh from L2 has its data disks attached, blank.
  for (const key of values.keys()) if (key.startsWith('block[')) values.set(key, { present: true });
  for (const [k, v] of Object.entries(overrides)) values.set(k, v);
  return FactSet.fromRecord(Object.fromEntries(values));
}
