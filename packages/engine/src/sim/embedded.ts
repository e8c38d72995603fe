import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError, type Reporter } from '@lab/core';

export type GuestMode = 'docker' | 'none';

export interface EmbeddedOptions {
  readonly stateDir: string;
  readonly nodes: readonly (string | { readonly name: string; readonly cpus?: number; readonly memory?: number })[] | number;
  readonly guests: GuestMode;
  readonly reporter: Reporter;
  readonly port?: number;
  readonly https?: boolean;
  /** OpenSSH public keys allowed through the jump host (the operator's and the lab's keys). */
  readonly authorizedKeys?: readonly string[];
  /** Publish endpoint.json so other processes (and tools) can use this simulator. */
  readonly publish?: boolean;
  /** Image URLs download-url serves offline (the lab's catalogue; see stand-ins.ts). */
  readonly standInImages?: readonly import('@lab/pve-sim').StandInImage[];
}

export interface EmbeddedSim {
  readonly url: string;
  readonly fingerprint: string | undefined;
  /** The self-signed certificate (PEM), for clients that pin by CA rather than fingerprint. */
  readonly certificatePem: string | undefined;
  readonly adminToken: { readonly id: string; readonly secret: string };
  readonly jumpHost: { readonly host: string; readonly port: number; readonly hostPublicKey: string; readonly knownHostsLine: string };
  readonly guests: GuestMode;
  readonly nodes: readonly string[];
  /** True when another process serves this state dir and we only connect to it. */
  readonly shared: boolean;
  close(): Promise<void>;
}

interface EndpointFile {
  readonly pid: number;
  readonly url: string;
  readonly fingerprint: string | undefined;
  readonly certificatePem: string | undefined;
  readonly adminToken: { readonly id: string; readonly secret: string };
  readonly jumpHost: EmbeddedSim['jumpHost'];
  readonly guests: GuestMode;
  readonly nodes: readonly string[];
}

const ENDPOINT = 'endpoint.json';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A simulator already serving this state dir (`lab sim start` in another terminal). */
function running(stateDir: string): EndpointFile | undefined {
  const file = join(stateDir, ENDPOINT);
  if (!existsSync(file)) return undefined;
  try {
    const ep = JSON.parse(readFileSync(file, 'utf8')) as EndpointFile;
    return alive(ep.pid) && ep.pid !== process.pid ? ep : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The guest image recipe ships with the workspace (tools/guest-image). Found by walking up from
 * this module, which sits at different depths in src/ and in the bundle.
 */
function guestImageScript(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'tools/guest-image/build.sh');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Start the bundled Proxmox VE simulator for a lab — API, guests and the SSH jump host of its
 * first node — or connect to the one another process already runs on the same state dir.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedSim> {
  const existing = running(options.stateDir);
  if (existing) {
    options.reporter.emit({ type: 'log', level: 'info', message: `using the simulator of process ${existing.pid} at ${existing.url}` });
    return { ...existing, shared: true, close: async () => undefined };
  }
  const sim = await import('@lab/pve-sim');
  const guests = await chooseGuests(options, sim);
  const instance = sim.guestInstanceName(options.stateDir);
  let backend;
  if (guests === 'docker') {
    const script = guestImageScript();
    const image = await sim.ensureGuestImage({
      ...(script ? { script } : {}),
      onProgress: (line) => options.reporter.emit({ type: 'log', level: 'debug', message: `guest image: ${line}` }),
    });
    if (image.built) options.reporter.emit({ type: 'log', level: 'info', message: `built the guest image ${image.tag}` });
    backend = sim.createDockerBackend({ image: image.tag, instance, persistent: true });
  } else {
    backend = sim.createNoneBackend();
  }
  const running_ = await sim.startSimulator({
    stateDir: options.stateDir,
    nodes: options.nodes,
    guests: backend,
    standInImages: options.standInImages ?? [],
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.https === undefined ? {} : { https: options.https }),
  });
  const jump = await sim.startJumpHost({
    stateDir: options.stateDir,
    authorizedKeys: options.authorizedKeys ?? [],
    resolve: (host, port) => running_.engine.resolveGuestEndpoint(host, port),
  });
  const result: EmbeddedSim = {
    url: running_.url,
    fingerprint: running_.fingerprint,
    certificatePem: running_.certificatePem,
    adminToken: { id: running_.adminToken.id, secret: running_.adminToken.secret },
    jumpHost: { host: jump.host, port: jump.port, hostPublicKey: jump.hostPublicKey, knownHostsLine: jump.knownHostsLine() },
    guests,
    nodes: running_.nodes,
    shared: false,
    async close() {
      if (options.publish) await rm(join(options.stateDir, ENDPOINT), { force: true });
      await jump.close();
      await running_.close();
      // Guests keep running, as VMs on a real node outlive the API client: the next process
      // on this state dir adopts them (containers are labelled with the instance).
      if (guests === 'none') await backend.close();
    },
  };
  if (options.publish) {
    await mkdir(options.stateDir, { recursive: true });
    const ep: EndpointFile = { pid: process.pid, url: result.url, fingerprint: result.fingerprint, certificatePem: result.certificatePem, adminToken: result.adminToken, jumpHost: result.jumpHost, guests, nodes: result.nodes };
    await writeFile(join(options.stateDir, ENDPOINT), `${JSON.stringify(ep, null, 2)}\n`, { mode: 0o600 });
  }
  return result;
}

async function chooseGuests(options: EmbeddedOptions, sim: typeof import('@lab/pve-sim')): Promise<GuestMode> {
  if (options.guests === 'none') return 'none';
  const version = await sim.dockerEngineVersion();
  if (version) return 'docker';
  if (process.env.CI === 'true') {
    throw new LabError({
      code: 'LAB_SIM_NO_DOCKER',
      summary: 'lab.yaml asks for docker guests but no Docker engine answers',
      hint: 'start one: bash tools/docker/ensure-dockerd.sh (or set proxmox.guests: none)',
    });
  }
  options.reporter.emit({
    type: 'diagnostic',
    diagnostic: {
      severity: 'warning',
      code: 'LAB_SIM_NO_DOCKER',
      summary: 'no Docker engine answers: VMs will be records only (no guests to SSH into)',
      hint: 'start one with `bash tools/docker/ensure-dockerd.sh`, then run the command again',
    },
  });
  return 'none';
}
