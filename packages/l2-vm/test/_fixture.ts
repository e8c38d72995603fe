import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { Secret, silentReporter, type Plan, type PlanMode } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { apiPath, createPveClient, type PveClient } from '@lab/pve';
import { createNoneBackend, startSimulator, type GuestBackend, type RunningSimulator, type SimulatorOptions } from '@lab/pve-sim';
import { applyVms, desiredVm, imageTag, observeDesired, planVms, type ApplyVmsContext, type DesiredVm } from '../src/index.js';

export const REPO = path.resolve(import.meta.dirname, '../../..');

/** A qcow2 header the simulator accepts for import (no bytes beyond it are needed). */
function fakeQcow2(virtualSize: number): Buffer {
  const buf = Buffer.alloc(4096, 0);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  buf.writeBigUInt64BE(BigInt(virtualSize), 24);
  return buf;
}

async function serve(file: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.length });
    res.end(req.method === 'HEAD' ? undefined : file);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/image.qcow2`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * Templates as L1 will leave them (adr/0081): a VM made by `import-from` of a downloaded
 * qcow2, tagged `lab-template` + `lab-image-<name>-<version>`, converted to a template.
 */
export async function buildTemplates(client: PveClient, nodes: readonly string[], image: { name: string; version: string }, first = 9000): Promise<void> {
  const qcow = fakeQcow2(2 * 2 ** 30);
  const srv = await serve(qcow);
  try {
    await client.put('/storage/local', { content: 'iso,vztmpl,backup,import,snippets' });
    for (const [i, node] of nodes.entries()) {
      const filename = `${image.name}-${image.version}.qcow2`;
      await client.runTask('POST', apiPath('nodes', node, 'storage', 'local', 'download-url'), {
        content: 'import', filename, url: srv.url, checksum: createHash('sha256').update(qcow).digest('hex'), 'checksum-algorithm': 'sha256',
      }, { pollMs: 20 });
      const vmid = first + i;
      await client.runTask('POST', apiPath('nodes', node, 'qemu'), {
        vmid, name: `tpl-${image.name}`, memory: 1024, cores: 1, scsihw: 'virtio-scsi-single',
        scsi0: `local-lvm:0,import-from=local:import/${filename},discard=on`, ide2: 'local-lvm:cloudinit', boot: 'order=scsi0',
        serial0: 'socket', vga: 'serial0', agent: 1, net0: 'virtio,bridge=vmbr0', ostype: 'l26',
        tags: `lab-template;${imageTag(image.name, image.version)}`,
      }, { pollMs: 20 });
      await client.runTask('POST', apiPath('nodes', node, 'qemu', String(vmid), 'template'), undefined, { pollMs: 20 });
    }
  } finally {
    await srv.close();
  }
}

export interface L2Fixture {
  readonly sim: RunningSimulator;
  readonly client: PveClient;
  readonly lab: Lab;
  readonly knownHosts: string;
  readonly userKey: { readonly public: string; readonly private: string };
  desired(personas?: readonly LoadedPersona[]): DesiredVm[];
  plan(mode?: PlanMode, opts?: { allowReboot?: boolean; destroyData?: boolean; personas?: readonly LoadedPersona[] }): Promise<Plan>;
  apply(plan: Plan, extra?: Partial<ApplyVmsContext>): Promise<void>;
  close(): Promise<void>;
}

/** The example lab (this repo's lab.yaml and personas) against a simulated 3-node cluster. */
export async function startL2(opts: { guests?: GuestBackend; sim?: Partial<SimulatorOptions>; lab?: string } = {}): Promise<L2Fixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'lab-l2-'));
  const lab = await loadLab(opts.lab ?? REPO);
  const sim = await startSimulator({
    stateDir: path.join(base, 'sim'),
    guests: opts.guests ?? createNoneBackend(),
    nodes: lab.site.site.nodes.map((n) => ({ name: n.name, cpus: n.cores, memory: n.memory })),
    seed: 'l2',
    timing: 'fast',
    // LAB_TEST_PVE=9.1 runs the suite against the simulator speaking that release
    ...(process.env.LAB_TEST_PVE ? { pve: process.env.LAB_TEST_PVE } : {}),
    ...opts.sim,
  });
  const client = createPveClient({ url: sim.url, fingerprint: sim.fingerprint, auth: { kind: 'token', tokenId: sim.adminToken.id, secret: new Secret(sim.adminToken.secret) }, retry: { baseDelayMs: 2, maxDelayMs: 10 } });
  for (const stage of ['stable', 'experimental']) await client.post('/pools', { poolid: `${lab.site.site.name}-${stage}` });
  const images = new Set(lab.personas.map((p) => p.persona.vm.image.name));
  let first = 9000;
  for (const name of images) {
    const img = lab.site.site.images.find((i) => i.name === name)!;
    await buildTemplates(client, sim.nodes, { name, version: img.stable }, first);
    first += 10;
  }
  const userKey = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'lab@test' });
  const knownHosts = path.join(base, 'known_hosts');
  const desired = (personas = lab.personas): DesiredVm[] => personas.map((p) => desiredVm(p, lab.site.site, { sshPublicKeys: [userKey.public], poolOf: (stage) => `${lab.site.site.name}-${stage}` }));
  const fx: L2Fixture = {
    sim,
    client,
    lab,
    knownHosts,
    userKey,
    desired,
    async plan(mode = 'normal', o = {}) {
      const d = desired(o.personas);
      const obs = await observeDesired(client, d);
      return planVms(d, obs, { mode, labVersion: 'test', allowReboot: o.allowReboot ?? false, destroyData: o.destroyData ?? false });
    },
    apply: (plan, extra = {}) =>
      applyVms(plan, {
        client,
        reporter: silentReporter,
        knownHostsFile: knownHosts,
        snippets: { place: (node, storage, name, content) => sim.engine.placeSnippet(node, storage, name, content) },
        taskPollMs: 10,
        pollMs: 10,
        agentTimeoutMs: 20_000,
        ...extra,
      }),
    async close() {
      await client.close();
      await sim.close();
      await rm(base, { recursive: true, force: true });
    },
  };
  return fx;
}
