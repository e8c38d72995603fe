import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SshTarget } from '@lab/ssh';
import { DIRECTORIES, PACKAGES, SERVICES, SSHD_LINES, SYSCTL, USERS, files } from './persona.js';

export interface PlaybookOptions {
  /**
   * Where the sysctl tasks persist their keys. Default: Ansible's own file. The whole-process
   * bench passes lab's file (/etc/sysctl.d/90-lab.conf), so each tool finds the other's result
   * converged (Ansible reads `key = value` lines and leaves a matching file alone).
   */
  readonly sysctlFile?: string;
}

/**
 * The same reference persona as an Ansible playbook (one task per resource, as people write
 * them; packages as one apt task with a list, which favours Ansible), pipelining on, facts off,
 * reaching the guest through the same jump host with the same pinned host keys.
 */
export function playbook(keys: readonly string[], options: PlaybookOptions = {}): unknown {
  const sysctlFile = options.sysctlFile ?? '/etc/sysctl.d/91-ansible.conf';
  const tasks: unknown[] = [{ name: 'packages', 'ansible.builtin.apt': { name: PACKAGES, state: 'present' } }];
  tasks.push({ name: 'group media', 'ansible.builtin.group': { name: 'media', gid: 2000 } });
  tasks.push({ name: 'group backup', 'ansible.builtin.group': { name: 'backup', gid: 2001 } });
  USERS.forEach((u, i) => {
    tasks.push({ name: `user ${u}`, 'ansible.builtin.user': { name: u, groups: i % 2 === 0 ? ['media'] : ['media', 'backup'], append: false, shell: '/bin/bash', home: `/home/${u}` } });
    tasks.push({ name: `keys ${u}`, 'ansible.posix.authorized_key': { user: u, key: keys[i], exclusive: true } });
  });
  USERS.forEach((u, i) => {
    tasks.push(
      i === 0
        ? { name: `sudo ${u}`, 'ansible.builtin.copy': { dest: `/etc/sudoers.d/lab-${u}`, content: `${u} ALL=(ALL:ALL) NOPASSWD: ALL\n`, mode: '0440', validate: 'visudo -cf %s' } }
        : { name: `no sudo ${u}`, 'ansible.builtin.file': { path: `/etc/sudoers.d/lab-${u}`, state: 'absent' } },
    );
  });
  for (const d of DIRECTORIES) tasks.push({ name: `dir ${d}`, 'ansible.builtin.file': { path: d, state: 'directory', mode: '0755', owner: 'root', group: 'root' } });
  for (const f of files()) tasks.push({ name: `file ${f.path}`, 'ansible.builtin.copy': { dest: f.path, content: f.content, mode: f.mode, owner: f.owner, group: f.group } });
  for (const [k, v] of Object.entries(SYSCTL)) {
    // The container's /proc/sys is read-only: persist only, as lab does there.
    tasks.push({ name: `sysctl ${k}`, 'ansible.posix.sysctl': { name: k, value: String(v), sysctl_file: sysctlFile, sysctl_set: false, reload: false } });
  }
  for (const l of SSHD_LINES) tasks.push({ name: `sshd ${l.line}`, 'ansible.builtin.lineinfile': { path: '/etc/ssh/sshd_config', regexp: l.match, line: l.line, validate: '/usr/sbin/sshd -t -f %s' } });
  for (const s of SERVICES) tasks.push({ name: `service ${s}`, 'ansible.builtin.systemd': { name: s, enabled: true, state: 'started' } });
  tasks.push({ name: 'timezone link', 'ansible.builtin.file': { src: '/usr/share/zoneinfo/Europe/Paris', dest: '/etc/localtime', state: 'link', force: true } });
  tasks.push({ name: 'timezone file', 'ansible.builtin.copy': { dest: '/etc/timezone', content: 'Europe/Paris\n' } });
  return [{ hosts: 'bench', gather_facts: false, become: true, tasks }];
}

export interface AnsibleRun {
  readonly ms: number;
  readonly code: number;
  readonly sshExecs: number;
  readonly changed: number;
  readonly tasks: number;
  readonly tail: string;
}

export interface AnsibleSetup {
  readonly dir: string;
  /**
   * One whole `ansible-playbook` process. `count: true` adds `-vvv` to count its SSH executions
   * (extra logging work: never the timed run).
   */
  run(options?: { readonly count?: boolean }): Promise<AnsibleRun>;
}

export async function setupAnsible(dir: string, target: SshTarget, keys: readonly string[], options: PlaybookOptions = {}): Promise<AnsibleSetup> {
  await mkdir(dir, { recursive: true });
  const jump = target.jump!;
  const userKey = join(dir, 'id_user');
  const jumpKey = join(dir, 'id_jump');
  await writeFile(userKey, target.privateKey.reveal().trim() + '\n', { mode: 0o600 });
  await writeFile(jumpKey, jump.privateKey.reveal().trim() + '\n', { mode: 0o600 });
  await chmod(userKey, 0o600);
  await chmod(jumpKey, 0o600);
  const pin = `-o UserKnownHostsFile=${target.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
  const proxy = `ssh ${pin} -i ${jumpKey} -p ${jump.port} -W %h:%p ${jump.username}@${jump.host}`;
  const inventory = [
    '[bench]',
    `guest ansible_host=${target.host} ansible_user=${target.username} ansible_ssh_private_key_file=${userKey} ansible_python_interpreter=/usr/bin/python3 ` +
      `ansible_ssh_common_args="${pin} -o ProxyCommand='${proxy}'"`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'inventory.ini'), inventory);
  await writeFile(join(dir, 'playbook.yml'), JSON.stringify(playbook(keys, options), null, 2));
  await writeFile(
    join(dir, 'ansible.cfg'),
    ['[defaults]', 'retry_files_enabled = False', 'host_key_checking = True', 'nocolor = True', '[ssh_connection]', 'pipelining = True',
      // Ansible's own default, written out: one master connection per host, kept 60 s.
      'ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s', `control_path_dir = ${join(dir, 'cp')}`, ''].join('\n'),
  );
  return {
    dir,
    run: (runOptions = {}) =>
      new Promise<AnsibleRun>((resolve, reject) => {
        const t0 = performance.now();
        const child = spawn('ansible-playbook', [...(runOptions.count ? ['-vvv'] : []), '-i', 'inventory.ini', 'playbook.yml'], {
          cwd: dir,
          env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_HOME: join(dir, 'home') },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          const recap = /ok=(\d+)\s+changed=(\d+)/.exec(out);
          resolve({
            ms: Math.round(performance.now() - t0),
            code: code ?? -1,
            sshExecs: (out.match(/SSH: EXEC ssh /g) ?? []).length,
            tasks: (out.match(/^TASK \[/gm) ?? []).length,
            changed: recap ? Number(recap[2]) : -1,
            tail: out.split('\n').slice(-25).join('\n'),
          });
        });
      }),
  };
}
