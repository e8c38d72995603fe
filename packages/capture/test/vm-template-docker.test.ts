import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHostKey, hostKeyVendorData } from '@lab/l2-vm';
import { apiPath, pveRecord } from '@lab/pve';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage, pruneStaleGuests, startJumpHost, type GuestBackend, type JumpHost } from '@lab/pve-sim';
import { generateKeyPair, pinHostKey, SshConnection, type SshTarget } from '@lab/ssh';
import {
  applyTemplateCapture,
  cleanCloneWithPersonaKey,
  observeTemplateCapture,
  planTemplateCapture,
  templateCaptureIntent,
  type TemplateCaptureResult,
} from '../src/index.js';
import { REVISION, startVmFixture, type VmFixture } from './vm-fixture.js';

/**
 * Template capture with a real Debian guest: the persona's guest carries some state, its clone
 * boots at a scratch address with the persona's pinned host key, is cleaned over SSH through
 * the node's jump host, and a VM cloned from the template boots as a new machine (its own
 * machine-id, host key and cloud-init instance) that still has the persona's state.
 */
const engine = await dockerEngineVersion();
const inCi = process.env['CI'] === 'true';
if (!engine && !inCi) console.warn('capture vm-template-docker.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const PERSONA_IP = '10.0.20.10';
const SCRATCH_IP = '10.0.20.250';
const APPLIANCE_IP = '10.0.20.60';

describe.runIf(engine !== undefined || inCi)('template capture with a real guest (Docker)', () => {
  let backend: GuestBackend;
  let fx: VmFixture;
  let jump: JumpHost;
  let knownHostsFile: string;
  const user = generateKeyPair('lab@capture-test');
  const jumpKey = generateKeyPair('jump@capture-test');
  const target = (host: string): SshTarget => ({
    host,
    username: 'lab',
    privateKey: user.privateKey,
    knownHostsFile,
    jump: { host: jump.host, port: jump.port, username: 'root', privateKey: jumpKey.privateKey },
  });
  const cloudInit = async (name: string, node: string) => {
    const key = generateHostKey(`root@${name}`);
    const volid = await fx.sim.engine.placeSnippet(node, 'local', `lab-${name}-hostkey.yaml`, hostKeyVendorData(key));
    // ciupgrade=0: an apt upgrade at first boot only waits for a network the guests do not have.
    return { key, params: { sshkeys: encodeURIComponent(user.publicKey), cicustom: `vendor=${volid}`, ciupgrade: 0 } };
  };
  // SSH answers once cloud-init has put the pinned host key in place (vendor data).
  async function sshWhenUp(host: string): Promise<SshConnection> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        return await SshConnection.open(target(host));
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  const sh = async (c: SshConnection, cmd: string) => (await c.run(cmd, { sudo: true })).stdout.trim();

  beforeAll(async () => {
    if (!engine) throw new Error('no Docker engine answers (CI=true); run: sudo tools/docker/ensure-dockerd.sh');
    await pruneStaleGuests();
    const image = await ensureGuestImage();
    backend = createDockerBackend({ image: image.tag, instance: `capture-${process.pid}`, removeOnClose: true });
    fx = await startVmFixture({ guests: backend });
    knownHostsFile = path.join(fx.base, 'known_hosts');
    jump = await startJumpHost({ stateDir: path.join(fx.base, 'jump'), authorizedKeys: [jumpKey.publicKey], resolve: (host, port) => fx.sim.engine.resolveGuestEndpoint(host, port) });
    await pinHostKey(knownHostsFile, jump.host, jump.port, jump.hostPublicKey);
  }, 300_000);

  afterAll(async () => {
    await jump?.close();
    await fx?.close();
    await backend?.close();
  }, 120_000);

  it('captures a cleaned template from the persona, and a VM cloned from it is a new machine with its state', async () => {
    // The persona, as L2 makes it: lab's user key, its host key through vendor data, pinned.
    const media = fx.persona('media');
    const ci = await cloudInit('media', 'pve1');
    await fx.makePersonaVm(media, { extra: ci.params });
    await pinHostKey(knownHostsFile, PERSONA_IP, 22, ci.key.publicKey);
    const persona = await sshWhenUp(PERSONA_IP);
    await sh(persona, 'echo jellyfin-config-v1 > /etc/lab-appliance-state');
    const personaMachineId = await sh(persona, 'cat /etc/machine-id');
    await persona.close();
    // The simulator's guests copy a filesystem only while stopped (Proxmox clones running VMs live).
    await fx.client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', '120', 'status', 'shutdown'), { forceStop: 1, timeout: 30 }, { pollMs: 50 });

    const intent = templateCaptureIntent(media, fx.lab.site.site, { image: 'debian-12', version: 'media-appliance', address: `${SCRATCH_IP}/24` }, fx.lab.personas);
    const plan = planTemplateCapture(intent, await observeTemplateCapture(fx.client, fx.base, intent), { labVersion: '0.1.0' });
    const result: TemplateCaptureResult = await applyTemplateCapture(plan, intent, {
      client: fx.client,
      reporter: fx.reporter,
      root: fx.base,
      labVersion: '0.1.0',
      revision: REVISION,
      pollMs: 50,
      clean: (clone) => cleanCloneWithPersonaKey(() => SshConnection.open(target(clone.address)), { knownHostsFile, personaAddress: PERSONA_IP, cloneAddress: clone.address, onProgress: clone.progress, retryMs: 500 }),
    });
    // The clone was the persona's disk (same machine-id before the clean), and came out clean.
    expect(result.clean).toEqual({ machineIdBytes: 0, hostKeys: 0, cloudInstance: 'absent', seedFiles: 0, aptLists: 0, machineIdBefore: personaMachineId });
    expect(await import('node:fs/promises').then((fs) => fs.readFile(knownHostsFile, 'utf8'))).not.toContain(SCRATCH_IP);
    expect(pveRecord(await fx.client.get(apiPath('nodes', 'pve1', 'qemu', String(result.vmid), 'config')))['template']).toBe(1);

    // A VM from the template, configured the way L2 configures its clones.
    const app = await cloudInit('appliance', 'pve1');
    await fx.client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', String(result.vmid), 'clone'), { newid: 150, name: 'appliance', full: 1 }, { pollMs: 50 });
    await fx.client.put(apiPath('nodes', 'pve1', 'qemu', '150', 'config'), { ...app.params, ciuser: 'lab', ipconfig0: `ip=${APPLIANCE_IP}/24,gw=10.0.20.1`, tags: 'lab;lab-persona-appliance' });
    await fx.client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', '150', 'status', 'start'), undefined, { pollMs: 50 });
    await pinHostKey(knownHostsFile, APPLIANCE_IP, 22, app.key.publicKey);
    const appliance = await sshWhenUp(APPLIANCE_IP);
    try {
      expect(await sh(appliance, 'cat /etc/lab-appliance-state')).toBe('jellyfin-config-v1');
      const machineId = await sh(appliance, 'cat /etc/machine-id');
      expect(machineId).toMatch(/^[0-9a-f]{32}$/);
      expect(machineId).not.toBe(personaMachineId);
      expect(await sh(appliance, 'test -e /var/lib/cloud/instance && echo first-boot-ran')).toBe('first-boot-ran');
      expect(await sh(appliance, 'hostname')).toBe('appliance');
    } finally {
      await appliance.close();
    }
  }, 240_000);
});
