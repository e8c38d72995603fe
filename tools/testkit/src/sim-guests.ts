/**
 * Real guests for the layers' integration tests and benchmarks, the way lab reaches them in
 * production: the simulator's Docker backend boots Debian guests from Proxmox-shaped NoCloud
 * seeds, and the simulator's jump host forwards each VM's *declared* address (never dialled
 * from here) to its loopback-published sshd. Host keys are generated here and put in the seed,
 * which is how lab knows them before the first connection (no trust on first use).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshConnection, generateKeyPair, pinHostKey, type SshTarget } from '@lab/ssh';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage, ensureInotifyRoom, pruneStaleGuests, startJumpHost, type GuestBackend, type GuestSpec, type JumpHost } from '@lab/pve-sim';

export interface SimGuest {
  readonly name: string;
  readonly vmid: number;
  readonly address: string;
  readonly target: SshTarget;
  /** The user's public key line (for personas that add it to another account). */
  readonly publicKey: string;
}

export interface SimGuests {
  readonly guests: readonly SimGuest[];
  readonly knownHostsFile: string;
  /** Run a root command on a guest over its own SSH connection (test-side observation). */
  sh(guest: SimGuest, command: string): Promise<string>;
  close(): Promise<void>;
}

export interface Availability {
  readonly ok: boolean;
  readonly reason?: string;
}

export async function simAvailable(): Promise<Availability> {
  if (!(await dockerEngineVersion())) return { ok: false, reason: 'no Docker engine answers (run: sudo tools/docker/ensure-dockerd.sh)' };
  return { ok: true };
}

function seed(name: string, address: string, mac: string, userKey: string, hostKey: { private: string; public: string }) {
  const userData = [
    '#cloud-config',
    `hostname: ${name}`,
    'manage_etc_hosts: true',
    `fqdn: ${name}`,
    'user: ops',
    'ssh_authorized_keys:',
    `  - ${userKey}`,
    'chpasswd:',
    '  expire: False',
    'users:',
    '  - default',
    'ssh_keys:',
    '  ed25519_private: |',
    ...hostKey.private.trim().split('\n').map((l) => `    ${l}`),
    `  ed25519_public: ${hostKey.public}`,
    '',
  ].join('\n');
  const networkConfig = [
    'version: 1',
    'config:',
    '    - type: physical',
    '      name: eth0',
    `      mac_address: '${mac.toLowerCase()}'`,
    '      subnets:',
    '      - type: static',
    `        address: '${address}'`,
    "        netmask: '255.255.255.0'",
    "        gateway: '10.77.0.1'",
    '',
  ].join('\n');
  const instanceId = createHash('sha1').update(userData + networkConfig).digest('hex');
  return { metaData: `instance-id: ${instanceId}\n`, userData, networkConfig };
}

async function until<T>(what: string, probe: () => Promise<T>, timeoutMs: number, dead?: () => Promise<Error | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      // A guest whose container exited will never answer: say so now, with its exit code and log.
      const gone = await dead?.().catch(() => undefined);
      if (gone) throw gone;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Boot `count` guests (in parallel) behind one jump host; all reachable when this resolves. */
export async function startSimGuests(count: number, prefix = 'test'): Promise<SimGuests> {
  // ~8 inotify instances per guest: raise the host limit (as root) or refuse with the fix.
  ensureInotifyRoom(count);
  const { tag } = await ensureGuestImage();
  await pruneStaleGuests().catch(() => undefined);
  const backend: GuestBackend = createDockerBackend({ image: tag, instance: `${prefix}-${process.pid}`, removeOnClose: true });
  const dir = await mkdtemp(join(tmpdir(), `lab-${prefix}-sim-`));
  const knownHostsFile = join(dir, 'known_hosts');
  const userKey = generateKeyPair(`ops@lab-${prefix}-test`);
  const jumpKey = generateKeyPair();
  const guests: SimGuest[] = [];
  const byAddress = new Map<string, number>();
  const specs: GuestSpec[] = [];
  for (let i = 0; i < count; i++) {
    const vmid = 300 + i;
    const name = `${prefix}-g${i}`;
    const address = `10.77.0.${10 + i}`;
    const mac = `BC:24:11:77:00:${(10 + i).toString(16).padStart(2, '0').toUpperCase()}`;
    const hostKey = generateKeyPair(`root@${name}`);
    await pinHostKey(knownHostsFile, address, 22, hostKey.blob);
    byAddress.set(address, vmid);
    specs.push({ node: 'pve', vmid, name, agent: true, nics: [{ device: 'net0', mac, bridge: 'vmbr0', address: `${address}/24`, gateway: '10.77.0.1' }], cloudInit: seed(name, address, mac, userKey.publicKey, { private: hostKey.privateKey.reveal(), public: hostKey.publicKey }) });
    guests.push({ name, vmid, address, publicKey: userKey.publicKey, target: undefined as unknown as SshTarget });
  }
  const jump: JumpHost = await startJumpHost({
    stateDir: dir,
    authorizedKeys: [jumpKey.publicKey],
    resolve: (host, port) => {
      const vmid = byAddress.get(host);
      return vmid === undefined ? undefined : backend.endpoint(vmid, port);
    },
  });
  await pinHostKey(knownHostsFile, jump.host, jump.port, jump.hostPublicKey);
  const finished: SimGuest[] = guests.map((g) => ({
    ...g,
    target: {
      host: g.address,
      username: 'ops',
      privateKey: userKey.privateKey,
      knownHostsFile,
      jump: { host: jump.host, port: jump.port, username: 'root', privateKey: jumpKey.privateKey },
    },
  }));
  const checkers = new Map<string, SshConnection>();
  const close = async () => {
    for (const c of checkers.values()) await c.close();
    await jump.close();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(specs.map((s) => backend.start(s)));
    await Promise.all(
      finished.map((g) =>
        until(`${g.name} sshd`, async () => {
          const c = await SshConnection.open(g.target);
          // cloud-init's final stage still runs when sshd first answers; wait for it to settle.
          await c.run('cloud-init status --wait >/dev/null 2>&1; true', { sudo: true, timeoutMs: 120_000 });
          checkers.set(g.name, c);
        }, 120_000, () => backend.exited?.(g.vmid) ?? Promise.resolve(undefined)),
      ),
    );
  } catch (error) {
    await close();
    throw error;
  }
  return {
    guests: finished,
    knownHostsFile,
    async sh(guest, command) {
      const c = checkers.get(guest.name)!.isOpen ? checkers.get(guest.name)! : await SshConnection.open(guest.target);
      checkers.set(guest.name, c);
      const r = await c.script(command, { sudo: true });
      if (r.code !== 0) throw new Error(`guest command failed (${r.code}): ${command}\n${r.stderr}`);
      return r.stdout;
    },
    close,
  };
}

/** Write text to a temp file (for tests that need a lab root with sources/keys). */
export async function tempLabRoot(files: Readonly<Record<string, string | Buffer>>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lab-test-root-'));
  const { mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}
