/**
 * Test helper: one real Debian guest (the lab guest image, systemd + sshd + cloud-init) in a
 * Docker container, its sshd published on 127.0.0.1 only, a `lab` user with password-less sudo
 * created by cloud-init from a NoCloud seed, and its host key pinned in a fresh known-hosts file
 * read through `docker exec` (the trusted side channel, like a console).
 *
 * Shared by the @lab/ssh and @lab/l3-os integration tests until they move onto the simulator's
 * own Docker backend. Docker missing: `available()` says why; the caller fails in CI, skips otherwise.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Secret } from '@lab/core';
import { generateKeyPair, pinHostKey, type SshTarget } from '@lab/ssh';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');

export interface Guest {
  readonly container: string;
  readonly port: number;
  readonly target: SshTarget;
  readonly knownHostsFile: string;
  readonly privateKey: Secret<string>;
  readonly publicKey: string;
  /** Run a command as root inside the guest through `docker exec` (test-side checks only). */
  sh(command: string): Promise<string>;
  stop(): Promise<void>;
}

export interface Availability {
  readonly ok: boolean;
  readonly image?: string;
  readonly reason?: string;
}

let cached: Promise<Availability> | undefined;

/** Whether a Docker engine answers and the guest image exists. */
export function available(): Promise<Availability> {
  cached ??= (async () => {
    try {
      await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 15_000 });
    } catch {
      return { ok: false, reason: 'no Docker engine answers (run tools/docker/ensure-dockerd.sh as root)' };
    }
    const image = await pickImage();
    if (!image) return { ok: false, reason: 'the lab guest image is missing (run tools/guest-image/build.sh as root)' };
    return { ok: true, image };
  })();
  return cached;
}

async function pickImage(): Promise<string | undefined> {
  if (process.env.LAB_GUEST_IMAGE) return process.env.LAB_GUEST_IMAGE;
  const { stdout } = await run('bash', [join(ROOT, 'tools/guest-image/build.sh'), '--print-tag']);
  const tag = stdout.trim().split('\n').at(-1) ?? '';
  if (await exists(tag)) return tag;
  if (process.env.CI === 'true') return undefined;
  // Outside CI, a guest image from an earlier recipe is good enough for these tests.
  const { stdout: list } = await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', 'lab-guest']);
  return list.trim().split('\n').filter(Boolean)[0];
}

async function exists(image: string): Promise<boolean> {
  try {
    await run('docker', ['image', 'inspect', image]);
    return true;
  } catch {
    return false;
  }
}

/** Message for a test that cannot run: an error in CI, a skip reason elsewhere. */
export function unavailableMessage(a: Availability): string {
  return `integration test needs Docker and the guest image: ${a.reason ?? 'unknown'}`;
}

export interface StartGuestOptions {
  readonly name?: string;
  readonly username?: string;
  /** Extra `docker run` flags (volumes…). */
  readonly dockerArgs?: readonly string[];
}

export async function startGuest(options: StartGuestOptions = {}): Promise<Guest> {
  const a = await available();
  if (!a.ok || !a.image) throw new Error(unavailableMessage(a));
  const id = randomBytes(4).toString('hex');
  const container = `lab-test-${options.name ?? 'guest'}-${id}`;
  const username = options.username ?? 'lab';
  const dir = await mkdtemp(join(tmpdir(), 'lab-guest-'));
  const seed = join(dir, 'seed');
  await mkdir(seed);
  const keys = generateKeyPair('lab-test');
  const publicKey = keys.publicKey;
  await writeFile(join(seed, 'meta-data'), `instance-id: iid-${id}\nlocal-hostname: ${options.name ?? 'guest'}\n`);
  await writeFile(join(seed, 'network-config'), 'version: 1\nconfig: []\n');
  await writeFile(
    join(seed, 'user-data'),
    [
      '#cloud-config',
      'users:',
      `  - name: ${username}`,
      '    sudo: ALL=(ALL) NOPASSWD:ALL',
      '    shell: /bin/bash',
      '    ssh_authorized_keys:',
      `      - ${publicKey}`,
      '',
    ].join('\n'),
  );
  await run('docker', [
    'run', '-d', '--name', container,
    '--label', 'lab-test=1',
    '--cap-add', 'SYS_ADMIN', '--cap-add', 'NET_ADMIN',
    '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
    '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs', '/run', '--tmpfs', '/run/lock',
    '-v', `${seed}:/var/lib/cloud/seed/nocloud:ro`,
    '-p', '127.0.0.1::22',
    ...(options.dockerArgs ?? []),
    a.image, '/sbin/init',
  ]);
  const sh = async (command: string) => (await run('docker', ['exec', container, 'bash', '-c', command], { maxBuffer: 64 << 20 })).stdout;
  const stop = async () => {
    await run('docker', ['rm', '-f', '-v', container]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => sh(`systemctl is-active ssh >/dev/null && test -s /home/${username}/.ssh/authorized_keys`), 90_000);
    const { stdout: portLine } = await run('docker', ['port', container, '22/tcp']);
    const port = Number(portLine.trim().split('\n')[0]?.split(':').at(-1));
    const knownHostsFile = join(dir, 'known_hosts');
    await pinHostKey(knownHostsFile, '127.0.0.1', port, await sh('cat /etc/ssh/ssh_host_ed25519_key.pub'));
    const privateKey = keys.privateKey;
    const target: SshTarget = { host: '127.0.0.1', port, username, privateKey, knownHostsFile };
    return { container, port, target, knownHostsFile, privateKey, publicKey, sh, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitFor(probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() > until) throw new Error(`guest not ready after ${timeoutMs / 1000}s: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
