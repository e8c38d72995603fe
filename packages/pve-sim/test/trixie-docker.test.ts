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
  startJumpHost,
  startSimulator,
  type GuestBackend,
  type JumpHost,
  type RunningSimulator,
} from '../src/index.js';
import { rawRequest } from './_helpers.js';
import { fakeQcow2, serveImages, sha256, type ImageServer } from './_image-server.js';

/**
 * A VM whose boot disk comes from Debian 13's cloud image boots the trixie guest image: the
 * simulator follows the boot disk back to the image it was imported from (through a clone), and
 * the guest answers over SSH through the jump host as Debian 13.
 */

const engine = await dockerEngineVersion();
const inCi = process.env.CI === 'true';
if (!engine && !inCi) console.warn('trixie-docker.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const IMAGE = 'debian-13-genericcloud-amd64-20250924-2245.qcow2';
const ADDRESS = '10.20.0.61';
const userKey = utils.generateKeyPairSync('ed25519', { comment: 'ops@trixie' });
const jumpKey = utils.generateKeyPairSync('ed25519');
const hostKey = utils.generateKeyPairSync('ed25519', { comment: 'root@trixie' });
const instance = `trixie-${process.pid}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const blob = (line: string): Buffer => Buffer.from(line.trim().split(/\s+/)[1]!, 'base64');

function connect(options: Parameters<Client['connect']>[0]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ readyTimeout: 15_000, ...options });
  });
}

function run(c: Client, command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (out += d.toString()));
      stream.on('close', () => resolve(out));
    }),
  );
}

describe.runIf(engine !== undefined || inCi)('a Debian 13 VM boots the trixie guest image', () => {
  let sim: RunningSimulator;
  let backend: GuestBackend;
  let jump: JumpHost;
  let images: ImageServer;
  let stateDir: string;

  async function data(method: string, path: string, params?: Record<string, string>): Promise<any> {
    const headers: Record<string, string> = { Authorization: sim.adminToken.header };
    const form = params ? new URLSearchParams(params).toString() : undefined;
    const inQuery = method === 'GET' || method === 'DELETE';
    if (form !== undefined && !inQuery) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(form));
    }
    const r = await rawRequest(sim, method, `/api2/json${path}${inQuery && form ? `?${form}` : ''}`, headers, inQuery ? undefined : form);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.reason}`);
    return r.json.data;
  }

  async function task(upid: string): Promise<void> {
    await sim.engine.waitForTask(upid);
    const status = await data('GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`);
    if (status.exitstatus !== 'OK') throw new Error(`task ${upid}: ${status.exitstatus}`);
  }

  async function ssh(): Promise<{ guest: Client; close: () => void }> {
    const hop = await connect({ host: jump.host, port: jump.port, username: 'root', privateKey: jumpKey.private, hostVerifier: (k: Buffer) => k.equals(blob(jump.hostPublicKey)) });
    try {
      const sock = await new Promise<ClientChannel>((resolve, reject) => hop.forwardOut('127.0.0.1', 0, ADDRESS, 22, (e, s) => (e ? reject(e) : resolve(s))));
      const guest = await connect({ sock, username: 'ops', privateKey: userKey.private, algorithms: { serverHostKey: ['ssh-ed25519'] }, hostVerifier: (k: Buffer) => k.equals(blob(hostKey.public)) });
      return { guest, close: () => (guest.end(), hop.end()) };
    } catch (e) {
      hop.end();
      throw e;
    }
  }

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    await pruneStaleGuests();
    const bookworm = await ensureGuestImage({ onProgress: (l) => console.info(l) });
    const trixie = await ensureGuestImage({ suite: 'trixie', onProgress: (l) => console.info(l) });
    backend = createDockerBackend({ image: bookworm.tag, images: { trixie: trixie.tag }, instance, removeOnClose: true });
    stateDir = await mkdtemp(join(tmpdir(), 'lab-trixie-'));
    sim = await startSimulator({ stateDir, guests: backend, seed: 'trixie' });
    jump = await startJumpHost({ stateDir, authorizedKeys: [jumpKey.public], resolve: (host, port) => sim.engine.resolveGuestEndpoint(host, port) });
    images = await serveImages({ [`/${IMAGE}`]: fakeQcow2(3 * 1024 ** 3) });
  }, 1_800_000);

  afterAll(async () => {
    await jump?.close();
    await sim?.close();
    await backend?.close();
    await images?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, 120_000);

  it('imports the image, templates it, clones, boots trixie and answers over SSH', async () => {
    await data('PUT', '/storage/local', { content: 'iso,vztmpl,backup,import,snippets' });
    const qcow = fakeQcow2(3 * 1024 ** 3);
    await task(await data('POST', '/nodes/pve/storage/local/download-url', { url: `${images.url}/${IMAGE}`, content: 'import', filename: IMAGE, checksum: sha256(qcow), 'checksum-algorithm': 'sha256' }));
    const vendor = ['#cloud-config', 'ssh_deletekeys: true', 'ssh_genkeytypes: []', 'ssh_keys:', '  ed25519_private: |', ...hostKey.private.trim().split('\n').map((l) => `    ${l}`), `  ed25519_public: ${hostKey.public.trim()}`, ''].join('\n');
    await rawRequest(sim, 'POST', '/_sim/snippets', { Authorization: `Bearer ${sim.controlToken}`, 'Content-Type': 'application/json' }, JSON.stringify({ node: 'pve', storage: 'local', name: 'hostkeys.yaml', content: vendor }));
    await task(
      await data('POST', '/nodes/pve/qemu', {
        vmid: '9013',
        name: 'debian13-tpl',
        memory: '1024',
        scsihw: 'virtio-scsi-single',
        scsi0: `local-lvm:0,import-from=local:import/${IMAGE}`,
        ide2: 'local-lvm:cloudinit',
        boot: 'order=scsi0',
        net0: 'virtio,bridge=vmbr0',
        agent: '1',
        ciuser: 'ops',
        ciupgrade: '0',
        sshkeys: encodeURIComponent(`${userKey.public.trim()}\n`),
        ipconfig0: `ip=${ADDRESS}/24,gw=10.20.0.1`,
        cicustom: 'vendor=local:snippets/hostkeys.yaml',
      }),
    );
    await task(await data('POST', '/nodes/pve/qemu/9013/template'));
    await task(await data('POST', '/nodes/pve/qemu/9013/clone', { newid: '161', name: 'trixie', full: '1' }));
    await task(await data('POST', '/nodes/pve/qemu/161/status/start'));
    const deadline = Date.now() + 180_000;
    let session: { guest: Client; close: () => void } | undefined;
    while (!session) {
      try {
        session = await ssh();
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(500);
      }
    }
    try {
      expect(await run(session.guest, '. /etc/os-release && echo "$VERSION_ID $VERSION_CODENAME"')).toBe('13 trixie\n');
      expect((await run(session.guest, 'hostname')).trim()).toBe('trixie');
      expect(await run(session.guest, 'cloud-init status --wait >/dev/null; cloud-init status')).toContain('status: done');
    } finally {
      session.close();
    }
  }, 600_000);
});
