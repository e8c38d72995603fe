import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret } from '@lab/core';
import { loadLab, type Lab } from '@lab/intent';
import { generateIdentity, openSecretStore, writeIdentityFile, type SecretStore } from '@lab/secrets';
import { createPveClient, type PveClient, type PveClientOptions } from '@lab/pve';
import { createNoneBackend, startSimulator, type RunningSimulator, type SimulatorOptions } from '@lab/pve-sim';

/** lab.yaml of the fixture: three nodes, local + local-lvm, a VLAN-aware vmbr0, one image. */
export function siteYaml(recipient: string, extra = ''): string {
  return `name: homelab
proxmox:
  mode: embedded
  nodes: 3
  guests: none
nodes:
  - { name: pve1, cores: 8, memory: 32GiB }
  - { name: pve2, cores: 8, memory: 32GiB }
  - { name: pve3, cores: 4, memory: 16GiB }
storages:
  - { name: local, type: dir, path: /var/lib/vz, content: [iso, import, backup, vztmpl] }
  - { name: local-lvm, type: lvmthin, content: [images, rootdir] }
bridges:
  - name: vmbr0
    vlanAware: true
    vlans:
      - { id: 10, cidr: 10.0.10.0/24, gateway: 10.0.10.1 }
      - { id: 20, cidr: 10.0.20.0/24, gateway: 10.0.20.1 }
${extra}
secrets:
  recipients: [${recipient}]
images:
  - name: debian-12
    os: debian
    stable: "1"
    versions:
      - version: "1"
        url: https://cloud.debian.org/images/cloud/bookworm/1/debian-12-genericcloud-amd64.qcow2
        checksum: { algorithm: sha256, value: ${'a'.repeat(64)} }
    storage: local
repositories:
  - { name: local, type: local, path: .lab/restic, password: { secret: site/restic } }
`;
}

export const PERSONAS: Record<string, string> = {
  alpha: `name: alpha
vm:
  node: pve1
  image: debian-12@stable
  cores: 2
  memory: 4GiB
  disks: [{ name: root, size: 16G, storage: local-lvm }]
  nics: [{ bridge: vmbr0, vlan: 10, ip: 10.0.10.5/24, gateway: 10.0.10.1 }]
capture:
  repository: local
  paths: [/srv]
  vm: { enabled: true, storage: local }
`,
  beta: `name: beta
lifecycle: { stage: experimental }
vm:
  node: auto
  image: debian-12@stable
  cores: 4
  memory: 8GiB
  disks: [{ name: root, size: 32G, storage: local-lvm }]
  nics: [{ bridge: vmbr0, vlan: 20 }]
`,
};

export interface Fixture {
  readonly root: string;
  readonly lab: Lab;
  readonly store: SecretStore;
  readonly sim: RunningSimulator;
  admin(extra?: Partial<PveClientOptions>): PveClient;
  token(tokenId: string, secret: Secret<string>, extra?: Partial<PveClientOptions>): PveClient;
  close(): Promise<void>;
}

/** A lab folder with lab.yaml, two personas and a working secrets store, plus a 3-node simulator. */
export async function startFixture(opts: { personas?: Record<string, string>; siteExtra?: string; sim?: Partial<SimulatorOptions> } = {}): Promise<Fixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'lab-l0-'));
  const root = path.join(base, 'lab');
  const { identity, recipient } = await generateIdentity();
  const identityFile = path.join(base, 'age.key');
  await writeIdentityFile(identityFile, identity);
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, 'lab.yaml'), siteYaml(recipient, opts.siteExtra));
  for (const [name, text] of Object.entries(opts.personas ?? PERSONAS)) {
    await mkdir(path.join(root, 'personas', name), { recursive: true });
    await writeFile(path.join(root, 'personas', name, 'persona.yaml'), text);
  }
  const lab = await loadLab(root);
  const store = openSecretStore({ root, recipients: [recipient], identityFile });
  const sim = await startSimulator({ stateDir: path.join(base, 'sim'), guests: createNoneBackend(), nodes: ['pve1', 'pve2', 'pve3'], seed: 'l0', timing: 'fast', ...(process.env.LAB_TEST_PVE ? { pve: process.env.LAB_TEST_PVE } : {}), ...opts.sim });
  const clients: PveClient[] = [];
  const make = (tokenId: string, secret: Secret<string>, extra: Partial<PveClientOptions> = {}): PveClient => {
    const c = createPveClient({ url: sim.url, fingerprint: sim.fingerprint, auth: { kind: 'token', tokenId, secret }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...extra });
    clients.push(c);
    return c;
  };
  return {
    root,
    lab,
    store,
    sim,
    admin: (extra) => make(sim.adminToken.id, new Secret(sim.adminToken.secret), extra),
    token: make,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
