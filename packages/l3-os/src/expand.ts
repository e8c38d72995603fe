import type { L3Intent } from './intent.js';
import { groupOp, userOp } from './ops/accounts.js';
import { packagesOp, type PackageSpec } from './ops/apt.js';
import { repositoryOp } from './ops/apt.js';
import { blockOp, directoryOp, fileOp, lineOp, type FileSpec } from './ops/files.js';
import { firewallOp } from './ops/firewall.js';
import { handlersOp } from './ops/handlers.js';
import { mountOp } from './ops/mounts.js';
import { dataDiskMount, dataDiskOp } from './ops/data-disks.js';
import type { HandlerId, OpContext, Operation } from './ops/operation.js';
import { sysctlOp } from './ops/sysctl.js';
import { hostnameOp, localeOp, timezoneOp } from './ops/system.js';
import { serviceOp, unitFileOp } from './ops/systemd.js';

const SSHD_CONFIG = '/etc/ssh/sshd_config';

/** Packages that provide a Docker engine: when the persona installs one, lab adds none. */
const ENGINES = ['docker-ce', 'docker.io', 'moby-engine'];

/** `ssh` → `ssh.service`: handlers and comparisons use full unit names. */
export function unitName(name: string): string {
  return /\.[a-z]+$/.test(name) ? name : `${name}.service`;
}

/** Handlers a change to `path` triggers: services that declared it in restartOn, and sshd for its config. */
function notifyFor(intent: L3Intent, path: string): HandlerId[] {
  const out = new Set<HandlerId>();
  for (const s of intent.services) if (s.restartOn.includes(path)) out.add(`restart:${unitName(s.name)}`);
  // sshd re-reads its config on reload; a declared restart already covers it.
  if ((path === SSHD_CONFIG || path.startsWith(`${SSHD_CONFIG}.d/`)) && !out.has('restart:ssh.service')) out.add('reload:ssh.service');
  return [...out];
}

/** A checker for files whose breakage locks people out. */
function validatorFor(path: string): string | undefined {
  if (path === SSHD_CONFIG) return '/usr/sbin/sshd -t -f %s';
  if (path.startsWith('/etc/sudoers.d/') || path === '/etc/sudoers') return 'visudo -cqf %s';
  return undefined;
}

function packageList(intent: L3Intent): PackageSpec[] {
  const implicit: string[] = [];
  if (!/^(C|POSIX)(\.UTF-8)?$/.test(intent.locale)) implicit.push('locales');
  if (intent.firewall.enabled) implicit.push('nftables');
  if (intent.mounts.some((m) => m.type === 'nfs' || m.type === 'nfs4')) implicit.push('nfs-common');
  if (intent.mounts.some((m) => m.type === 'cifs')) implicit.push('cifs-utils');
  if (intent.dataDisks?.some((d) => d.filesystem === 'xfs')) implicit.push('xfsprogs');
  if (intent.dataDisks?.some((d) => d.filesystem === 'btrfs')) implicit.push('btrfs-progs');
  if (intent.unattendedUpgrades?.enabled) implicit.push('unattended-upgrades');
  if (intent.ntpServers?.length) implicit.push('systemd-timesyncd');
  const declared = new Map(intent.packages.map((p) => [p.name, p]));
  if (intent.docker && !ENGINES.some((e) => declared.has(e))) implicit.push('docker.io');
  if (intent.docker && !declared.has('docker-compose-plugin')) implicit.push('docker-compose');
  const out = [...intent.packages];
  for (const name of implicit) if (!declared.has(name)) out.push({ name, state: 'present' });
  return out;
}

/** Files lab writes for composite settings (journald, timesyncd, unattended-upgrades…). */
function compositeFiles(intent: L3Intent): FileSpec[] {
  const own = { mode: '0644', owner: 'root', group: 'root' } as const;
  const header = '# Managed by lab from the persona; changes here are overwritten.\n';
  const files: FileSpec[] = [];
  files.push({
    path: '/etc/apt/apt.conf.d/01lab-proxy',
    ...own,
    ...(intent.aptProxy ? { state: 'present', content: `${header}Acquire::http::Proxy "${intent.aptProxy}";\n` } : { state: 'absent' }),
  });
  if (intent.journald) {
    const j = intent.journald;
    const lines = [
      '[Journal]',
      ...(j.maxUseBytes !== undefined ? [`SystemMaxUse=${j.maxUseBytes}`] : []),
      ...(j.maxRetentionSeconds !== undefined ? [`MaxRetentionSec=${j.maxRetentionSeconds}s`] : []),
    ];
    files.push({ path: '/etc/systemd/journald.conf.d/90-lab.conf', state: 'present', ...own, content: `${header}${lines.join('\n')}\n`, notify: ['restart:systemd-journald.service'] });
  }
  if (intent.ntpServers?.length) {
    files.push({ path: '/etc/systemd/timesyncd.conf.d/90-lab.conf', state: 'present', ...own, content: `${header}[Time]\nNTP=${intent.ntpServers.join(' ')}\n`, notify: ['restart:systemd-timesyncd.service'] });
  }
  if (intent.modules.length) {
    files.push({ path: '/etc/modules-load.d/lab.conf', state: 'present', ...own, content: `${header}${intent.modules.join('\n')}\n` });
  }
  const uu = intent.unattendedUpgrades;
  if (uu) {
    const on = uu.enabled ? '1' : '0';
    files.push({ path: '/etc/apt/apt.conf.d/20auto-upgrades', state: 'present', ...own, content: `${header}APT::Periodic::Update-Package-Lists "${on}";\nAPT::Periodic::Unattended-Upgrade "${on}";\n` });
    if (uu.enabled) {
      const origins = uu.origins.map((o) => `\t"${o.replace(/"/g, '')}";`);
      const body = [
        ...(origins.length ? ['Unattended-Upgrade::Origins-Pattern {', ...origins, '};'] : []),
        `Unattended-Upgrade::Automatic-Reboot "${uu.automaticReboot}";`,
        `Unattended-Upgrade::Automatic-Reboot-Time "${uu.rebootTime}";`,
        `Unattended-Upgrade::Remove-Unused-Kernel-Packages "${uu.removeUnused}";`,
        `Unattended-Upgrade::Remove-Unused-Dependencies "${uu.removeUnused}";`,
      ];
      files.push({ path: '/etc/apt/apt.conf.d/52lab-unattended-upgrades', state: 'present', ...own, content: `${header}${body.join('\n')}\n` });
    }
  }
  return files;
}

/**
 * The persona's `os:` section as an ordered list of operations. Order encodes dependencies:
 * repositories before packages, packages before the locale, groups, users and services they create,
 * directories before files, the firewall before services (nftables.service must not load a
 * default ruleset first), handlers last.
 */
export function expandOperations(intent: L3Intent): Operation[] {
  const ctx: OpContext = { persona: intent.persona };
  const ops: Operation[] = [];
  ops.push(hostnameOp(ctx, { hostname: intent.hostname, ...(intent.domain ? { domain: intent.domain } : {}) }));
  ops.push(timezoneOp(ctx, intent.timezone));
  const composite = compositeFiles(intent);
  const proxy = composite.shift()!;
  ops.push(fileOp(ctx, proxy));
  for (const r of intent.repositories) ops.push(repositoryOp(ctx, r));
  const packages = packageList(intent);
  if (packages.length) ops.push(packagesOp(ctx, packages));
  // After packages: generating a locale needs the `locales` package.
  ops.push(localeOp(ctx, intent.locale));
  // Data disks early: directories, files and services below must land on the mounted disk.
  for (const d of intent.dataDisks ?? []) {
    ops.push(dataDiskOp(ctx, d));
    ops.push(mountOp(ctx, dataDiskMount(d)));
  }

  const declaredGroups = new Set(intent.groups.map((g) => g.name));
  for (const g of intent.groups) ops.push(groupOp(ctx, g));
  const implicitGroups = new Set(intent.users.filter((u) => u.state === 'present').flatMap((u) => u.groups).filter((g) => !declaredGroups.has(g)));
  for (const g of [...implicitGroups].sort()) ops.push(groupOp(ctx, { name: g, system: false, state: 'present' }));

  for (const u of intent.users) {
    ops.push(userOp(ctx, u));
    if (u.state !== 'present') continue;
    if (u.sshKeys.length > 0) {
      ops.push(directoryOp(ctx, { path: `${u.home}/.ssh`, mode: '0700', owner: u.name, group: u.name, state: 'present' }));
      ops.push(fileOp(ctx, { kind: 'ssh.authorized-keys', key: u.name, path: `${u.home}/.ssh/authorized_keys`, state: 'present', content: `${u.sshKeys.join('\n')}\n`, mode: '0600', owner: u.name, group: u.name }));
    }
    const rule = u.sudo === 'nopasswd' ? `${u.name} ALL=(ALL:ALL) NOPASSWD: ALL\n` : u.sudo === 'password' ? `${u.name} ALL=(ALL:ALL) ALL\n` : undefined;
    ops.push(
      fileOp(ctx, {
        kind: 'sudo.rule',
        key: u.name,
        path: `/etc/sudoers.d/lab-${u.name.replace(/\./g, '_')}`,
        mode: '0440',
        owner: 'root',
        group: 'root',
        validate: 'visudo -cqf %s',
        ...(rule ? { state: 'present', content: rule } : { state: 'absent' }),
      }),
    );
  }

  for (const d of intent.directories) ops.push(directoryOp(ctx, d));
  for (const f of [...intent.files.map((f) => ({ ...f, notify: notifyFor(intent, f.path) }) as FileSpec), ...composite]) {
    const validate = f.validate ?? validatorFor(f.path);
    ops.push(fileOp(ctx, { ...f, ...(validate ? { validate } : {}) }));
  }
  for (const l of intent.lines) {
    const validate = validatorFor(l.path);
    ops.push(lineOp(ctx, { ...l, notify: notifyFor(intent, l.path), ...(validate ? { validate } : {}) }));
  }
  const blocks = [...intent.blocks];
  if (intent.hosts.length) blocks.push({ path: '/etc/hosts', marker: 'lab-hosts', content: intent.hosts.map((h) => `${h.ip}\t${h.names.join(' ')}`).join('\n'), state: 'present' });
  for (const b of blocks) {
    const validate = validatorFor(b.path);
    ops.push(blockOp(ctx, { ...b, create: true, notify: notifyFor(intent, b.path), ...(validate ? { validate } : {}) }));
  }

  const sysctl = { ...intent.sysctl, ...(intent.swap ? { 'vm.swappiness': intent.swap.swappiness } : {}) };
  if (Object.keys(sysctl).length) ops.push(sysctlOp(ctx, sysctl));

  for (const m of intent.mounts) {
    if (m.credentials) {
      const path = `/etc/lab/credentials/${m.path.replace(/^\//, '').replace(/\//g, '-') || 'root'}`;
      ops.push(fileOp(ctx, { path, state: m.state === 'absent' ? 'absent' : 'present', content: m.credentials, mode: '0600', owner: 'root', group: 'root' }));
      ops.push(mountOp(ctx, { ...m, options: [...m.options, `credentials=${path}`] }));
    } else ops.push(mountOp(ctx, m));
  }

  for (const u of intent.units) ops.push(unitFileOp(ctx, u));
  ops.push(firewallOp(ctx, { ...intent.firewall, docker: intent.docker !== undefined || intent.packages.some((p) => ENGINES.includes(p.name)) }));

  const services = [...intent.services];
  const has = (n: string) => services.some((s) => unitName(s.name) === unitName(n));
  if (intent.docker && !has('docker')) services.push({ name: 'docker.service', enabled: true, state: 'running', masked: false, restartOn: [] });
  if (intent.firewall.enabled && !has('nftables')) services.push({ name: 'nftables.service', enabled: true, state: 'running', masked: false, restartOn: [] });
  for (const s of services) ops.push(serviceOp(ctx, s));

  ops.push(handlersOp(ctx));
  return ops;
}
