/**
 * L3 whole-process benchmark (figures, not a timed test; adr/0185). What a user runs, timed from
 * outside: `lab check --layer l3 --persona bench` as a whole process against `ansible-playbook`
 * as a whole process (Debian's ansible, pipelining, ControlPersist, facts off, no -vvv),
 * interleaved A B A B, on the same guest through the same jump host.
 *
 *   1. an embedded scratch lab (as `lab demo` makes one) with one persona, `bench`, whose L3
 *      intent is the reference intent of packages/l3-os/test/bench/persona.ts;
 *   2. `lab up --persona bench` (boots the guest, converges L3);
 *   3. `lab sim start` in the background (the jump host both tools go through);
 *   4. Ansible converges, then must report changed=0, and `lab check --layer l3` must exit 0:
 *      each tool finds the other's result converged;
 *   5. N pairs, A B A B; min / median per side, median of per-pair ratios, load average.
 *
 * Environment: L3P_PAIRS (default 5), L3P_KEEP=1 keeps the scratch lab (its path is printed),
 * L3P_COLD=0 skips the labelled line for `lab check` with no simulator running.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Secret } from '@lab/core';
import { generateKeyPair } from '@lab/ssh';
import { createScratchLab } from '../../src/scratch-lab.js';
import { setupAnsible, type AnsibleSetup } from '../../../l3-os/test/bench/ansible.js';
import { DIRECTORIES, PACKAGES, SERVICES, SSHD_LINES, SYSCTL, USERS, files } from '../../../l3-os/test/bench/persona.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cliDir = join(repo, 'packages/cli');
/** Set by freezeBundle(): the `lab` bin of a frozen copy of the bundle. */
let labBin = join(cliDir, 'bin/lab.mjs');

/**
 * Build the bundle, then run a copy of bin/ and dist/ beside the package (so its dependencies
 * resolve as before): without src/ next to it the bin runs dist as an installed package does,
 * and edits made to the workspace while the bench runs cannot turn it back to tsx.
 */
async function freezeBundle(): Promise<string> {
  execFileSync(process.execPath, [join(cliDir, 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = join(cliDir, `.bench-${process.pid}`);
  await cp(join(cliDir, 'bin'), join(dir, 'bin'), { recursive: true });
  await cp(join(cliDir, 'dist'), join(dir, 'dist'), { recursive: true });
  await cp(join(cliDir, 'package.json'), join(dir, 'package.json'));
  labBin = join(dir, 'bin/lab.mjs');
  return dir;
}
const say = (s: string) => process.stderr.write(`l3-process: ${s}\n`);
const PERSONA = 'bench';
const ADDRESS = '10.0.30.77';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The persona whose compiled L3 intent is referenceIntent('bench', 'bench', keys). */
export function benchPersona(keys: readonly string[]): unknown {
  return {
    name: PERSONA,
    description: 'Benchmark persona: the reference L3 intent of packages/l3-os/test/bench/persona.ts.',
    vm: {
      image: 'debian-12@stable',
      cores: 1,
      memory: '1GiB',
      disks: [{ name: 'root', size: '8G', storage: 'local-lvm' }],
      nics: [{ bridge: 'vmbr0', vlan: 30, ip: `${ADDRESS}/24`, gateway: '10.0.30.1' }],
      onboot: false,
    },
    os: {
      hostname: PERSONA,
      timezone: 'Europe/Paris',
      locale: 'en_US.UTF-8',
      packages: [...PACKAGES],
      groups: [
        { name: 'media', gid: 2000 },
        { name: 'backup', gid: 2001 },
      ],
      users: USERS.map((name, i) => ({
        name,
        groups: i % 2 === 0 ? ['media'] : ['media', 'backup'],
        shell: '/bin/bash',
        home: `/home/${name}`,
        sudo: i === 0 ? 'nopasswd' : 'none',
        sshKeys: [keys[i]!],
      })),
      directories: DIRECTORIES.map((path) => ({ path, mode: '0755', owner: 'root', group: 'root' })),
      files: files().map((f) => ({ path: f.path, content: f.content, mode: f.mode, owner: f.owner, group: f.group })),
      sysctl: { ...SYSCTL },
      lines: SSHD_LINES.map((l) => ({ path: '/etc/ssh/sshd_config', match: l.match, line: l.line })),
      systemd: { services: SERVICES.map((name) => ({ name, enabled: true, state: 'running' })) },
    },
  };
}

interface Run {
  readonly ms: number;
  /** User + system CPU of the process and its children (ssh for Ansible), from /proc/self/stat. */
  readonly cpuMs: number;
  readonly code: number;
  readonly out: string;
}

/** CPU ticks (10 ms) of this process's children that have been waited for: cutime + cstime. */
export function childCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** One whole process, timed from spawn to exit (only one timed process runs at a time). */
function timed(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const c0 = childCpuMs();
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ ms: performance.now() - t0, cpuMs: childCpuMs() - c0, code: code ?? -1, out }));
  });
}

function ensureAnsible(): void {
  try {
    execFileSync('ansible-playbook', ['--version'], { stdio: 'ignore' });
  } catch {
    if (process.getuid?.() !== 0) throw new Error("ansible-playbook is missing: run the bench as root (it installs Debian's ansible) or `apt-get install ansible`");
    say("installing Debian's ansible with apt (once)");
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

interface Endpoint {
  readonly pid: number;
  readonly jumpHost: { host: string; port: number; knownHostsLine: string };
}

/** `lab sim start` in the background; resolves once its endpoint file names it. */
async function startSim(root: string, env: NodeJS.ProcessEnv, keyFile: string): Promise<{ endpoint: Endpoint; stop(): Promise<void> }> {
  const file = join(root, '.lab/sim/endpoint.json');
  const child = spawn(process.execPath, [labBin, 'sim', 'start', '--root', root, '--jump-key', `${keyFile}.pub`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`lab sim start exited:\n${err}`);
    if (existsSync(file)) {
      try {
        const ep = JSON.parse(readFileSync(file, 'utf8')) as Endpoint;
        if (ep.pid === child.pid) {
          return {
            endpoint: ep,
            stop: () =>
              new Promise<void>((done) => {
                if (exited) return done();
                child.once('exit', () => done());
                child.kill('SIGTERM');
              }),
          };
        }
      } catch {
        // being written
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function line(label: string, xs: readonly number[], note = ''): string {
  const min = Math.min(...xs);
  return `  ${label.padEnd(44)} min ${min.toFixed(0).padStart(6)} ms   median ${median(xs).toFixed(0).padStart(6)} ms${note ? `   ${note}` : ''}`;
}

export async function main(): Promise<number> {
  const pairs = Math.max(1, Number(process.env.L3P_PAIRS ?? 5));
  const base = await mkdtemp(join(tmpdir(), 'lab-l3-process-'));
  const root = join(base, 'lab');
  const env: NodeJS.ProcessEnv = { ...process.env, LAB_AGE_KEY_FILE: join(base, 'age.key'), NO_COLOR: '1' };
  let sim: Awaited<ReturnType<typeof startSim>> | undefined;
  const loadStart = load();
  let frozen: string | undefined;
  try {
    ensureAnsible();
    frozen = await freezeBundle();
    // The scratch lab: the repository's site (embedded simulator, docker guests) and one persona.
    const from = join(base, 'from');
    await mkdir(join(from, 'personas', PERSONA), { recursive: true });
    await writeFile(join(from, 'lab.yaml'), readFileSync(join(repo, 'lab.yaml')));
    // lab.yaml's image catalogue may include mixins (a baked image's `bake.include`).
    await cp(join(repo, 'personas', '_mixins'), join(from, 'personas', '_mixins'), { recursive: true });
    const keys = Array.from({ length: 4 }, (_, i) => generateKeyPair(`bench-user-${i}`).publicKey);
    await writeFile(join(from, 'personas', PERSONA, 'persona.yaml'), stringify(benchPersona(keys)));
    const keyFile = join(base, 'id_ed25519');
    await createScratchLab({ from, to: root, identityFile: join(base, 'age.key'), sshKeyFile: keyFile });
    say(`scratch lab in ${root}; load average ${loadStart}`);

    const lab = (...argv: string[]) => timed(process.execPath, [labBin, ...argv, '--root', root], { env });
    const tu = performance.now();
    say('lab up --persona bench (boots the guest, converges L0-L4)');
    const up = await lab('up', '--persona', PERSONA, '--yes');
    if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.out.slice(-4000)}`);
    say(`up in ${((performance.now() - tu) / 1000).toFixed(1)} s`);

    // Cold: no simulator running, so each `lab check` process starts it (today's default).
    const cold: number[] = [];
    if (process.env.L3P_COLD !== '0') {
      for (let i = 0; i < Math.min(pairs, 3); i++) {
        const r = await lab('check', '--layer', 'l3', '--persona', PERSONA);
        if (r.code !== 0) throw new Error(`lab check (no simulator running) exit ${r.code}:\n${r.out.slice(-3000)}`);
        cold.push(r.ms);
      }
    }

    sim = await startSim(root, env, keyFile);
    const check = () => lab('check', '--layer', 'l3', '--persona', PERSONA);
    const pin = await check(); // pins the jump host's key under its new port in the lab's known_hosts
    if (pin.code !== 0) throw new Error(`lab check after lab up is not clean (exit ${pin.code}):\n${pin.out.slice(-3000)}`);

    const knownHostsFile = resolve(root, '.lab/known_hosts');
    const privateKey = new Secret(readFileSync(keyFile, 'utf8'));
    const target = {
      host: ADDRESS,
      username: 'lab',
      privateKey,
      knownHostsFile,
      jump: { host: sim.endpoint.jumpHost.host, port: sim.endpoint.jumpHost.port, username: 'root', privateKey },
    };
    const ansible: AnsibleSetup = await setupAnsible(join(base, 'ansible'), target, keys, { sysctlFile: '/etc/sysctl.d/90-lab.conf' });

    // Each tool proves the other's result converged.
    const firstAnsible = await ansible.run();
    if (firstAnsible.code !== 0) throw new Error(`ansible-playbook failed (exit ${firstAnsible.code}):\n${firstAnsible.tail}`);
    say(`ansible-playbook after lab up: changed=${firstAnsible.changed} (${firstAnsible.tasks} tasks)`);
    const labAfterAnsible = await check();
    if (labAfterAnsible.code !== 0) throw new Error(`lab check after ansible-playbook: exit ${labAfterAnsible.code} (pending changes):\n${labAfterAnsible.out.slice(-3000)}`);
    const counted = await ansible.run({ count: true });
    if (counted.changed !== 0) throw new Error(`ansible-playbook reports changed=${counted.changed} after lab and itself converged:\n${counted.tail}`);

    // Whole process against whole process, interleaved.
    const a: number[] = [];
    const b: number[] = [];
    const aCpu: number[] = [];
    const bCpu: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const l = await check();
      if (l.code !== 0) throw new Error(`lab check exit ${l.code}:\n${l.out.slice(-3000)}`);
      const c0 = childCpuMs();
      const r = await ansible.run();
      aCpu.push(l.cpuMs);
      bCpu.push(childCpuMs() - c0);
      if (r.code !== 0 || r.changed !== 0) throw new Error(`ansible-playbook exit ${r.code}, changed=${r.changed}:\n${r.tail}`);
      a.push(l.ms);
      b.push(r.ms);
      ratios.push(r.ms / l.ms);
      say(`pair ${i + 1}/${pairs}: lab ${l.ms.toFixed(0)} ms, ansible ${r.ms} ms`);
    }
    const loadEnd = load();
    const ratio = median(ratios);
    const out = [
      '',
      `L3 no-op check of the reference persona, whole process against whole process (adr/0185), ${pairs} pairs interleaved A B A B`,
      `  convergence: ansible after lab up changed=${firstAnsible.changed}; lab check after ansible exit 0 (no pending); ansible again changed=0`,
      line('A  lab check --layer l3 --persona bench', a, '(bin/lab.mjs on the built bundle; `lab sim start` running)'),
      line('B  ansible-playbook', b, `(${counted.tasks} tasks, pipelining, ControlPersist=60s, facts off, no -vvv)`),
      `  paired ratio B / A (median of per-pair ratios)  ${ratio.toFixed(1)} x   (goal: lab ≤ 500 ms and ≥ 25 x)`,
      `  CPU on this machine's side (user + system, children included): lab median ${median(aCpu).toFixed(0)} ms, ansible median ${median(bCpu).toFixed(0)} ms (${(median(bCpu) / Math.max(1, median(aCpu))).toFixed(1)} x); the guest's and the jump host's CPU are not in these`,
      `  ansible SSH executions (separate -vvv run): ${counted.sshExecs}`,
      ...(cold.length ? [line('lab check, no simulator running (starts it)', cold, `(${cold.length} runs, not interleaved)`)] : []),
      `  load average (1 5 15 min): start ${loadStart}, end ${loadEnd}; ${cpus().length} CPU cores shared with the guest and the simulator`,
      '  in-process figures (lab inside one running process, Ansible as a process): `pnpm bench l3-noop`',
      '',
    ];
    process.stdout.write(out.join('\n'));
    return 0;
  } finally {
    if (sim) await sim.stop();
    if (process.env.L3P_KEEP === '1') say(`kept ${base}`);
    else {
      // The guest container belongs to this scratch lab's simulator instance: remove it.
      await timed(process.execPath, [labBin, 'down', '--persona', PERSONA, '--yes', '--root', root], { env }).catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    }
    if (frozen) await rm(frozen, { recursive: true, force: true });
  }
}
