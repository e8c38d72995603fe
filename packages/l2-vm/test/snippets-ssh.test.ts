import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { LabError, Secret } from '@lab/core';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage, pruneStaleGuests, startJumpHost, type GuestBackend, type JumpHost } from '@lab/pve-sim';
import { pinHostKey, SshPool, type SshTarget } from '@lab/ssh';
import { generateHostKey, hostKeySnippetName, hostKeyVendorData, sshSnippetWriter, snippetFile } from '../src/index.js';
import { REPO, startL2, type L2Fixture } from './_fixture.js';

/**
 * The remote snippet writer against a real OpenSSH server: a guest container of the simulator's
 * Docker backend plays the Proxmox node, reached through the simulator's jump host with host
 * keys checked against the lab's known_hosts. The snippet lands atomically, 0600, with exactly
 * the vendor data L2 generated; destroy's remove deletes it; an unpinned node is refused.
 */
const engine = await dockerEngineVersion();
const inCi = process.env['CI'] === 'true';
if (!engine && !inCi) console.warn('l2 snippets-ssh.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const ADDRESS = '10.0.30.52';

describe.runIf(engine !== undefined || inCi)('L2 snippets over SSH on a real OpenSSH node (Docker)', () => {
  let backend: GuestBackend;
  let fx: L2Fixture;
  let jump: JumpHost;
  let root: string;
  const pool = new SshPool();
  const jumpKey = ssh2.utils.generateKeyPairSync('ed25519');
  // Where "the node" keeps its `local` storage in this test: a fresh directory on the guest.
  const storageDir = `/tmp/lab-vz-${process.pid}`;

  const target = (knownHostsFile: string): SshTarget => ({
    host: ADDRESS,
    username: fx.lab.site.site.ssh.user,
    privateKey: new Secret(fx.userKey.private),
    knownHostsFile,
    jump: { host: jump.host, port: jump.port, username: 'root', privateKey: new Secret(jumpKey.private) },
  });

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    await pruneStaleGuests();
    const image = await ensureGuestImage({ onProgress: (l) => console.info(l) });
    backend = createDockerBackend({ image: image.tag, instance: `l2s-${process.pid}`, removeOnClose: true });
    root = await mkdtemp(path.join(tmpdir(), 'lab-l2-snip-'));
    await copyFile(path.join(REPO, 'lab.yaml'), path.join(root, 'lab.yaml'));
    // lab.yaml's baked image includes the example mixins.
    await cp(path.join(REPO, 'personas/_mixins'), path.join(root, 'personas/_mixins'), { recursive: true });
    await mkdir(path.join(root, 'personas', 'node'), { recursive: true });
    await writeFile(path.join(root, 'personas', 'node', 'persona.yaml'), `name: node\nvm:\n  node: pve1\n  image: debian-12@stable\n  memory: 1GiB\n  disks: [{ name: root, size: 4G, storage: local-lvm }]\n  nics: [{ bridge: vmbr0, vlan: 30, ip: ${ADDRESS}/24, gateway: 10.0.30.1 }]\n`);
    fx = await startL2({ guests: backend, lab: root });
    jump = await startJumpHost({ stateDir: path.join(root, 'jump'), authorizedKeys: [jumpKey.public], resolve: (host, port) => fx.sim.engine.resolveGuestEndpoint(host, port) });
    // The node's key is pinned by hand, as the operator does after comparing it (docs/l2-vm.md).
    await pinHostKey(fx.knownHosts, jump.host, jump.port, jump.hostPublicKey);
    await fx.apply(await fx.plan(), { agentTimeoutMs: 180_000, pollMs: 500 });
  }, 900_000);

  afterAll(async () => {
    await pool.closeAll();
    await jump?.close();
    await fx?.close();
    await backend?.close();
    if (root) await rm(root, { recursive: true, force: true });
  }, 120_000);

  it('places the vendor snippet atomically with mode 0600 and removes it on destroy', async () => {
    const writer = sshSnippetWriter({ connect: () => pool.get(target(fx.knownHosts)), storagePath: () => storageDir });
    const content = hostKeyVendorData(generateHostKey('root@web'));
    const name = hostKeySnippetName('web');
    const file = snippetFile(storageDir, name);
    let volid = '';
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        volid = await writer.place('pve1', 'local', name, content);
        break;
      } catch (e) {
        // sshd in the fresh guest may still be starting.
        if (Date.now() > deadline || (e instanceof LabError && e.code === 'LAB_SSH_HOSTKEY_UNKNOWN')) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    expect(volid).toBe(`local:snippets/${name}`);
    const conn = await pool.get(target(fx.knownHosts));
    const st = await conn.script(`stat -c '%a %U %G' ${file}; cat ${file}; ls -A ${storageDir}/snippets`, { sudo: true });
    expect(st.code, st.stderr).toBe(0);
    const [mode, ...rest] = st.stdout.split('\n');
    expect(mode).toBe('600 root root');
    expect(rest.join('\n')).toBe(`${content}${name}\n`);

    await writer.remove!('pve1', 'local', name);
    const gone = await conn.script(`test -e ${file}; echo $?`, { sudo: true });
    expect(gone.stdout.trim()).toBe('1');
  }, 300_000);

  it('refuses a node whose host key is not pinned', async () => {
    const bare = path.join(root, 'known_hosts.bare');
    await writeFile(bare, (await readFile(fx.knownHosts, 'utf8')).split('\n').filter((l) => !l.startsWith(`${ADDRESS} `)).join('\n'));
    const fresh = new SshPool();
    try {
      const writer = sshSnippetWriter({ connect: () => fresh.get(target(bare)), storagePath: () => storageDir });
      await expect(writer.place('pve1', 'local', 'x.yaml', '#cloud-config\n')).rejects.toMatchObject({ code: 'LAB_SSH_HOSTKEY_UNKNOWN' });
    } finally {
      await fresh.closeAll();
    }
  }, 60_000);
});
