import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMemoryReporter, Secret, type MemoryReporter } from '@lab/core';
import { loadLab, type Site } from '@lab/intent';
import { createPveClient, type PveClient } from '@lab/pve';
import { createNoneBackend, qcow2Header, startSimulator, type RunningSimulator } from '@lab/pve-sim';
import type { ImageLayerOptions } from '../src/index.js';

/** A qcow2 header claiming `virtualSize` bytes, unique per `label` (so digests differ). */
export function qcow2(label: string, virtualSize = 2 * 2 ** 30): Buffer {
  return qcow2Header(virtualSize, { label: `lab test image ${label}` });
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

export interface ImageServer {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves fixed files on 127.0.0.1: the simulator downloads only from loopback. */
export async function serveImages(files: Record<string, Buffer>): Promise<ImageServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

export interface VersionSpec {
  readonly version: string;
  readonly path: string;
  /** Digest written to lab.yaml (a wrong one tests the mismatch). */
  readonly sha512: string;
}

export function siteYaml(server: string, versions: readonly VersionSpec[], stable: string, nodes = ['pve1']): string {
  return `name: homelab
proxmox: { mode: embedded, nodes: ${nodes.length}, guests: none }
nodes:
${nodes.map((n) => `  - { name: ${n}, cores: 8, memory: 32GiB }`).join('\n')}
storages:
  - { name: local, type: dir, path: /var/lib/vz, content: [iso, import, backup, vztmpl] }
  - { name: local-lvm, type: lvmthin, content: [images, rootdir] }
bridges:
  - { name: vmbr0 }
secrets:
  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
images:
  - name: debian-12
    os: debian
    stable: "${stable}"
    versions:
${versions.map((v) => `      - version: "${v.version}"\n        url: ${server}${v.path}\n        checksum: { algorithm: sha512, value: ${v.sha512} }`).join('\n')}
    storage: local
    cloudInit: { user: debian, packages: [qemu-guest-agent] }
`;
}

export interface Fixture {
  readonly root: string;
  readonly sim: RunningSimulator;
  readonly client: PveClient;
  readonly reporter: MemoryReporter;
  site(): Site;
  /** Rewrite lab.yaml and reload it. */
  writeSite(yaml: string): Promise<Site>;
  options(extra?: Partial<ImageLayerOptions>): ImageLayerOptions;
  close(): Promise<void>;
}

/** A lab folder plus a simulator whose `local` storage accepts imports (what L0 apply sets up). */
export async function startFixture(yaml: string, nodes = ['pve1']): Promise<Fixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'lab-l1-'));
  const root = path.join(base, 'lab');
  await mkdir(root, { recursive: true });
  const sim = await startSimulator({ stateDir: path.join(base, 'sim'), guests: createNoneBackend(), nodes, seed: 'l1', timing: 'fast', ...(process.env.LAB_TEST_PVE ? { pve: process.env.LAB_TEST_PVE } : {}) });
  const client = createPveClient({ url: sim.url, fingerprint: sim.fingerprint, auth: { kind: 'token', tokenId: sim.adminToken.id, secret: new Secret(sim.adminToken.secret) }, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  await client.put('/storage/local', { content: 'iso,vztmpl,backup,import' });
  const reporter = createMemoryReporter();
  let site: Site;
  const writeSite = async (text: string): Promise<Site> => {
    await writeFile(path.join(root, 'lab.yaml'), text);
    site = (await loadLab(root)).site.site;
    return site;
  };
  await writeSite(yaml);
  return {
    root,
    sim,
    client,
    reporter,
    site: () => site,
    writeSite,
    options: (extra = {}) => ({ site, root, labVersion: '0.0.0-test', reporter, pollMs: 10, ...extra }),
    async close() {
      await client.close();
      await sim.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
