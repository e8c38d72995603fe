import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2, { type ClientChannel } from 'ssh2';
import { hasChanges } from '@lab/core';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage, pruneStaleGuests, startJumpHost, type GuestBackend, type JumpHost } from '@lab/pve-sim';
import { REPO, startL2, type L2Fixture } from './_fixture.js';

/**
 * One persona applied with real guests: the VM boots from the clone, the guest agent answers,
 * and SSH through the jump host to the declared address succeeds with the host key L2 pinned
 * in its known_hosts before the first boot (no trust on first use).
 */
const engine = await dockerEngineVersion();
const inCi = process.env['CI'] === 'true';
if (!engine && !inCi) console.warn('l2 guest-docker.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const ADDRESS = '10.0.30.50';

function connect(options: ssh2.ConnectConfig): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ readyTimeout: 15_000, ...options });
  });
}

describe.runIf(engine !== undefined || inCi)('L2 with real guests (Docker)', () => {
  let backend: GuestBackend;
  let fx: L2Fixture;
  let jump: JumpHost;
  let root: string;
  const jumpKey = ssh2.utils.generateKeyPairSync('ed25519');

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    await pruneStaleGuests();
    const image = await ensureGuestImage({ onProgress: (l) => console.info(l) });
    backend = createDockerBackend({ image: image.tag, instance: `l2-${process.pid}`, removeOnClose: true });
    root = await mkdtemp(path.join(tmpdir(), 'lab-l2-docker-'));
    await copyFile(path.join(REPO, 'lab.yaml'), path.join(root, 'lab.yaml'));
    // lab.yaml's baked image includes the example mixins.
    await cp(path.join(REPO, 'personas/_mixins'), path.join(root, 'personas/_mixins'), { recursive: true });
    await mkdir(path.join(root, 'personas', 'web'), { recursive: true });
    await writeFile(path.join(root, 'personas', 'web', 'persona.yaml'), `name: web\nvm:\n  node: pve1\n  image: debian-12@stable\n  memory: 1GiB\n  disks: [{ name: root, size: 4G, storage: local-lvm }]\n  nics: [{ bridge: vmbr0, vlan: 30, ip: ${ADDRESS}/24, gateway: 10.0.30.1 }]\n`);
    fx = await startL2({ guests: backend, lab: root });
    jump = await startJumpHost({ stateDir: path.join(root, 'jump'), authorizedKeys: [jumpKey.public], resolve: (host, port) => fx.sim.engine.resolveGuestEndpoint(host, port) });
  }, 900_000);

  afterAll(async () => {
    await jump?.close();
    await fx?.close();
    await backend?.close();
    if (root) await rm(root, { recursive: true, force: true });
  }, 120_000);

  it('boots, answers on the agent, and takes SSH with the pinned host key', async () => {
    await fx.apply(await fx.plan(), { agentTimeoutMs: 180_000, pollMs: 500 });
    expect(hasChanges(await fx.plan())).toBe(false);
    const line = (await readFile(fx.knownHosts, 'utf8')).split('\n').find((l) => l.startsWith(`${ADDRESS} `));
    expect(line).toMatch(/^10\.0\.30\.50 ssh-ed25519 /);
    const pinned = Buffer.from(line!.split(' ')[2]!, 'base64');
    const hop = await connect({ host: jump.host, port: jump.port, username: 'root', privateKey: jumpKey.private, hostVerifier: (key: Buffer) => key.equals(Buffer.from(jump.hostPublicKey.split(' ')[1]!, 'base64')) });
    try {
      let out = '';
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          const sock = await new Promise<ClientChannel>((resolve, reject) => hop.forwardOut('127.0.0.1', 0, ADDRESS, 22, (err, s) => (err ? reject(err) : resolve(s))));
          const guest = await connect({ sock, username: fx.lab.site.site.ssh.user, privateKey: fx.userKey.private, algorithms: { serverHostKey: ['ssh-ed25519'] }, hostVerifier: (key: Buffer) => key.equals(pinned) });
          out = await new Promise<string>((resolve, reject) =>
            guest.exec('hostname', (err, stream) => {
              if (err) return reject(err);
              let text = '';
              stream.on('data', (d: Buffer) => (text += d.toString()));
              stream.on('close', () => resolve(text.trim()));
            }),
          );
          guest.end();
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      expect(out).toBe('web');
    } finally {
      hop.end();
    }
  }, 600_000);
});
