import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMemoryReporter, Secret, type MemoryReporter } from '@lab/core';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { apiPath, createPveClient, type PveClient } from '@lab/pve';
import { createNoneBackend, startSimulator, type GuestBackend, type RunningSimulator } from '@lab/pve-sim';
import type { LabRevision } from '../src/index.js';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const REVISION: LabRevision = { commit: 'abc1234', dirty: true };

/**
 * The example lab against a simulated 3-node cluster whose clock the test moves forward, so
 * that successive backups get distinct archive names (vzdump names them by the second).
 */
export interface VmFixture {
  readonly sim: RunningSimulator;
  readonly client: PveClient;
  readonly lab: Lab;
  readonly reporter: MemoryReporter;
  readonly base: string;
  persona(name: string): LoadedPersona;
  /** Move the simulator's clock forward. */
  advance(ms: number): void;
  /** A VM as L2 leaves it: tags, marker, cloud-init drive, address; started. */
  makePersonaVm(p: LoadedPersona, opts?: { persistent?: boolean; start?: boolean; marker?: boolean; extra?: Record<string, string | number> }): Promise<{ vmid: number; node: string }>;
  close(): Promise<void>;
}

export async function startVmFixture(opts: { guests?: GuestBackend } = {}): Promise<VmFixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'lab-capture-vm-'));
  const lab = await loadLab(REPO);
  let offset = 0;
  const sim = await startSimulator({
    stateDir: path.join(base, 'sim'),
    guests: opts.guests ?? createNoneBackend(),
    nodes: lab.site.site.nodes.map((n) => ({ name: n.name, cpus: n.cores, memory: n.memory })),
    seed: 'capture-vm',
    timing: 'fast',
    clock: () => Date.now() + offset,
    // LAB_TEST_PVE=9.1 runs the suite against the simulator speaking that release
    ...(process.env.LAB_TEST_PVE ? { pve: process.env.LAB_TEST_PVE } : {}),
  });
  const client = createPveClient({ url: sim.url, fingerprint: sim.fingerprint, auth: { kind: 'token', tokenId: sim.adminToken.id, secret: new Secret(sim.adminToken.secret) }, retry: { baseDelayMs: 2, maxDelayMs: 10 } });
  await client.put('/storage/local', { content: 'iso,vztmpl,backup,import,snippets' });
  const reporter = createMemoryReporter();
  return {
    sim,
    client,
    lab,
    reporter,
    base,
    persona: (name) => lab.personas.find((p) => p.name === name)!,
    advance: (ms) => void (offset += ms),
    async makePersonaVm(p, o = {}) {
      const vm = p.persona.vm;
      const vmid = vm.vmid ?? 140;
      const node = vm.node === 'auto' ? 'pve1' : vm.node;
      const nic = vm.nics[0]!;
      const params: Record<string, string | number> = {
        vmid,
        name: p.name,
        cores: 1,
        memory: 1024,
        scsihw: 'virtio-scsi-single',
        scsi0: 'local-lvm:4',
        ide2: 'local-lvm:cloudinit',
        boot: 'order=scsi0',
        agent: 1,
        serial0: 'socket',
        net0: `virtio,bridge=${nic.bridge}${nic.vlan !== undefined ? `,tag=${nic.vlan}` : ''}`,
        ipconfig0: `ip=${nic.ip}${nic.gateway ? `,gw=${nic.gateway}` : ''}`,
        ciuser: 'lab',
        tags: ['lab', `lab-persona-${p.name}`, 'lab-image-debian-12-20250210-2019', ...vm.tags].join(';'),
        description: o.marker === false ? 'made by hand' : `${p.persona.description ?? p.name}\n\nlab:managed persona=${p.name}`,
        ...(vm.protection ? { protection: 1 } : {}),
        ...o.extra,
      };
      if (o.persistent) {
        const holder = `vm-999999999-lab-${p.name}-data`;
        await client.post(apiPath('nodes', node, 'storage', 'local-lvm', 'content'), { vmid: 999999999, filename: holder, size: '2G' });
        params['scsi1'] = `local-lvm:${holder},backup=0`;
      }
      await client.runTask('POST', apiPath('nodes', node, 'qemu'), params, { pollMs: 10 });
      if (o.start !== false) await client.runTask('POST', apiPath('nodes', node, 'qemu', String(vmid), 'status', 'start'), undefined, { pollMs: 10 });
      return { vmid, node };
    },
    async close() {
      await client.close();
      await sim.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
