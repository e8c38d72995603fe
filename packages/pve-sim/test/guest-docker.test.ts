import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, utils, type ClientChannel } from 'ssh2';
import {
  createDockerBackend,
  dockerEngineVersion,
  ensureGuestImage,
  pruneStaleGuests,
  type CloudInitSeed,
  type GuestBackend,
  type GuestEvent,
  type GuestSpec,
} from '../src/guests/index.js';
import { startJumpHost, type JumpHost } from '../src/jump/index.js';

/**
 * One real guest end to end: a Debian container boots systemd, cloud-init applies a Proxmox-
 * shaped NoCloud seed, and an SSH client reaches it only through the jump host by the VM's
 * declared address (never dialled: the jump host maps it to the loopback-published sshd).
 */

const engine = await dockerEngineVersion();
const inCi = process.env.CI === 'true';
if (!engine && !inCi) {
  console.warn('guest-docker.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');
}

const VMID = 100;
const ADDRESS = '10.20.0.10';
const MAC = 'BC:24:11:5E:7A:01';
const CLONE = { vmid: 101, address: '10.20.0.11', mac: 'BC:24:11:5E:7A:02', hostname: 'web2' };
const userKey = utils.generateKeyPairSync('ed25519', { comment: 'ops@lab-test' });
const guestHostKey = utils.generateKeyPairSync('ed25519', { comment: 'root@web1' });
const jumpKey = utils.generateKeyPairSync('ed25519');

/** The seed as Proxmox renders it (pve-api.md §5.4, B.9), plus host keys via ssh_keys. */
function seed(hostname = 'web1', address = ADDRESS, mac = MAC): CloudInitSeed {
  const userData = [
    '#cloud-config',
    `hostname: ${hostname}`,
    'manage_etc_hosts: true',
    `fqdn: ${hostname}`,
    'user: ops',
    'ssh_authorized_keys:',
    `  - ${userKey.public}`,
    'chpasswd:',
    '  expire: False',
    'users:',
    '  - default',
    'ssh_keys:',
    '  ed25519_private: |',
    ...guestHostKey.private.trim().split('\n').map((l) => `    ${l}`),
    `  ed25519_public: ${guestHostKey.public}`,
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
    "        gateway: '10.20.0.1'",
    '',
  ].join('\n');
  const instanceId = createHash('sha1').update(userData + networkConfig).digest('hex');
  return { metaData: `instance-id: ${instanceId}\n`, userData, networkConfig };
}

const spec: GuestSpec = {
  node: 'pve',
  vmid: VMID,
  name: 'web1',
  agent: true,
  nics: [{ device: 'net0', mac: MAC, bridge: 'vmbr0', address: `${ADDRESS}/24`, gateway: '10.20.0.1' }],
  cloudInit: seed(),
};

function sshConnect(options: Parameters<Client['connect']>[0]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ readyTimeout: 15_000, ...options });
  });
}

function run(c: Client, command: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) =>
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (out += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code: code ?? -1, out }));
    }),
  );
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Each test boots guests several times; under a parallel suite docker can take a while.
describe.runIf(engine !== undefined || inCi)('docker guest backend (real Debian guest)', { timeout: 120_000 }, () => {
  let backend: GuestBackend;
  let jump: JumpHost;
  let stateDir: string;
  const events: GuestEvent[] = [];
  const timings: Record<string, number> = {};

  /** SSH to the guest by its declared address, through the jump host, both host keys pinned. */
  async function sshGuest(address = ADDRESS): Promise<{ guest: Client; close: () => void }> {
    const hop = await sshConnect({
      host: jump.host,
      port: jump.port,
      username: 'root',
      privateKey: jumpKey.private,
      hostVerifier: (key: Buffer) => key.equals(Buffer.from(jump.hostPublicKey.split(' ')[1]!, 'base64')),
    });
    try {
      const sock = await new Promise<ClientChannel>((resolve, reject) =>
        hop.forwardOut('127.0.0.1', 0, address, 22, (err, s) => (err ? reject(err) : resolve(s))),
      );
      const pinned = Buffer.from(guestHostKey.public.split(' ')[1]!, 'base64');
      const guest = await sshConnect({
        sock,
        username: 'ops',
        privateKey: userKey.private,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => key.equals(pinned),
      });
      return { guest, close: () => (guest.end(), hop.end()) };
    } catch (e) {
      hop.end();
      throw e;
    }
  }

  /** Boots (already started) until sshd answers with the seeded config; returns ms. */
  async function untilSsh(t0: number, vmid = VMID, address = ADDRESS): Promise<number> {
    await waitFor('guest agent', () => backend.agentPing(vmid));
    for (;;) {
      try {
        const { close } = await sshGuest(address);
        close();
        return Math.round(performance.now() - t0);
      } catch (e) {
        if (performance.now() - t0 > 60_000) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    const pruned = await pruneStaleGuests();
    if (pruned.containers.length) console.info(`pruned stale guests: ${pruned.containers.join(', ')}`);
    const image = await ensureGuestImage({ onProgress: (line) => console.info(line) });
    timings.imageMs = image.ms;
    if (image.built) console.info(`built ${image.tag} in ${(image.ms / 1000).toFixed(1)} s`);
    backend = createDockerBackend({
      image: image.tag,
      instance: `test-${process.pid}`,
      removeOnClose: true,
      onEvent: (e) => events.push(e),
    });
    stateDir = await mkdtemp(join(tmpdir(), 'lab-guest-docker-'));
    jump = await startJumpHost({
      stateDir,
      authorizedKeys: [jumpKey.public],
      resolve: (host, port) => {
        if (host === ADDRESS) return backend.endpoint(VMID, port);
        if (host === CLONE.address) return backend.endpoint(CLONE.vmid, port);
        return undefined;
      },
    });
  }, 900_000);

  afterAll(async () => {
    await jump?.close();
    await backend?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    console.info(`guest timings (ms): ${JSON.stringify(timings)}`);
  }, 120_000);

  it('boots from the seed and is reachable only through the jump host, as declared', async () => {
    const t0 = performance.now();
    await backend.start(spec);
    expect(await backend.state(VMID)).toBe('running');
    timings.firstBootToSshMs = await untilSsh(t0);

    const endpoint = await backend.endpoint(VMID, 22);
    expect(endpoint?.host).toBe('127.0.0.1');

    const { guest, close } = await sshGuest();
    try {
      expect((await run(guest, 'hostname')).out.trim()).toBe('web1');
      const addr = await run(guest, 'ip -4 addr show eth0');
      expect(addr.code).toBe(0);
      expect(addr.out).toContain(`inet ${ADDRESS}/24`);
      expect((await run(guest, 'cat /sys/class/net/eth0/address')).out.trim()).toBe(MAC.toLowerCase());
      expect((await run(guest, 'sudo -n true')).code).toBe(0);
      expect((await run(guest, 'ip route show default')).out).toContain('default via 10.20.0.1 dev eth0');
      expect((await run(guest, 'touch /home/ops/before-snapshot')).code).toBe(0);
      // cloud-init finished without errors and no unit failed: the guest is healthy, not just up.
      expect((await run(guest, 'cloud-init status --wait')).out).toContain('status: done');
      expect((await run(guest, 'systemctl --failed --no-legend --plain')).out.trim()).toBe('');
    } finally {
      close();
    }

    const ifaces = await backend.agentNetworkInterfaces(VMID);
    expect(ifaces[0]?.name).toBe('eth0');
    expect(ifaces[0]?.['hardware-address']).toBe(MAC.toLowerCase());
    expect(ifaces[0]?.['ip-addresses']).toContainEqual({ 'ip-address-type': 'ipv4', 'ip-address': ADDRESS, prefix: 24 });
    expect(ifaces.map((i) => i.name)).toContain('lo');
    expect(ifaces.some((i) => i.name.startsWith('egress'))).toBe(false);
  });

  it('stops, starts, snapshots, rolls back and destroys the guest', async () => {
    const t0 = performance.now();
    await backend.snapshot(VMID, 'pre');
    timings.snapshotMs = Math.round(performance.now() - t0);
    {
      const { guest, close } = await sshGuest();
      expect((await run(guest, 'touch /home/ops/after-snapshot')).code).toBe(0);
      close();
    }

    await backend.stop(VMID);
    expect(await backend.state(VMID)).toBe('stopped');
    expect(await backend.agentPing(VMID)).toBe(false);
    expect(await backend.endpoint(VMID, 22)).toBeUndefined();

    const t1 = performance.now();
    await backend.start(spec);
    timings.restartToSshMs = await untilSsh(t1);
    {
      const { guest, close } = await sshGuest();
      expect((await run(guest, 'ls /home/ops')).out.split(/\s+/)).toEqual(
        expect.arrayContaining(['before-snapshot', 'after-snapshot']),
      );
      close();
    }

    const t2 = performance.now();
    await backend.rollback(VMID, 'pre');
    expect(await backend.state(VMID)).toBe('stopped');
    await backend.start(spec);
    timings.rollbackToSshMs = await untilSsh(t2);
    {
      const { guest, close } = await sshGuest();
      const home = (await run(guest, 'ls /home/ops')).out;
      expect(home).toContain('before-snapshot');
      expect(home).not.toContain('after-snapshot');
      expect((await run(guest, 'hostname')).out.trim()).toBe('web1');
      close();
    }

    // A full clone: the stopped guest's filesystem under a new vmid, with a new MAC, address and
    // instance-id, so cloud-init runs again on the copied disk.
    await backend.stop(VMID);
    const t3 = performance.now();
    await backend.cloneFilesystem!(VMID, CLONE.vmid);
    await backend.start({
      ...spec,
      vmid: CLONE.vmid,
      name: CLONE.hostname,
      nics: [{ device: 'net0', mac: CLONE.mac, bridge: 'vmbr0', address: `${CLONE.address}/24`, gateway: '10.20.0.1' }],
      cloudInit: seed(CLONE.hostname, CLONE.address, CLONE.mac),
    });
    timings.cloneToSshMs = await untilSsh(t3, CLONE.vmid, CLONE.address);
    {
      const { guest, close } = await sshGuest(CLONE.address);
      expect((await run(guest, 'hostname')).out.trim()).toBe(CLONE.hostname);
      expect((await run(guest, 'ls /home/ops')).out).toContain('before-snapshot');
      expect((await run(guest, 'ip -4 addr show eth0')).out).toContain(`inet ${CLONE.address}/24`);
      close();
    }
    await backend.destroy(CLONE.vmid);

    await backend.deleteSnapshot(VMID, 'pre');
    await expect(backend.rollback(VMID, 'pre')).rejects.toMatchObject({ code: 'LAB_SIM_SNAPSHOT_MISSING' });
    await expect(backend.stop(VMID)).resolves.toBeUndefined();
    await backend.destroy(VMID);
    expect(await backend.state(VMID)).toBe('stopped');
    await backend.destroy(VMID);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['create', 'seed', 'start', 'snapshot', 'rollback', 'clone', 'destroy']),
    );
  });

  it('prunes guests left behind by a simulator that died', async () => {
    const image = (await ensureGuestImage()).tag;
    const dead = createDockerBackend({ image, instance: `dead-${process.pid}` });
    // A created-but-never-booted guest is enough; its owner pid is this process, so declare it dead.
    await dead.snapshot(7, 'orphan');
    await dead.start({ ...spec, vmid: 7, nics: [] });
    await dead.stop(7);
    const pruned = await pruneStaleGuests({
      keepInstance: `test-${process.pid}`,
      isAlive: (pid) => pid !== process.pid,
    });
    expect(pruned.containers).toContain(`lab-dead-${process.pid}-7`);
    expect(pruned.images).toContain(`lab-sim-snapshot:dead-${process.pid}.7.orphan`);
    expect(await dead.state(7)).toBe('stopped');
    await expect(dead.rollback(7, 'orphan')).rejects.toMatchObject({ code: 'LAB_SIM_SNAPSHOT_MISSING' });
  });

  it('never prunes the persistent guests of a lab, whose CLI process ends after every command', async () => {
    const image = (await ensureGuestImage()).tag;
    const lab = createDockerBackend({ image, instance: `persistent-${process.pid}`, persistent: true });
    await lab.start({ ...spec, vmid: 8, nics: [] });
    await lab.stop(8);
    // Only this process counts as dead: other test files' guests, running beside this one, must live.
    const pruned = await pruneStaleGuests({ keepInstance: `test-${process.pid}`, isAlive: (pid) => pid !== process.pid });
    expect(pruned.containers).not.toContain(`lab-persistent-${process.pid}-8`);
    await lab.destroy(8);
  });
});
