import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError, isLabError, type Reporter } from '@lab/core';

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
  /** Deprecated: every owner publishes endpoint.json now, so other commands attach to it. */
  readonly publish?: boolean;
  /** Proxmox VE release to speak (`8.4`, `9.1`); the simulator's default when omitted. */
  readonly pve?: string;
  /** `realistic` for `lab sim start`, `fast` (default) for the in-process lab of a command. */
  readonly timing?: 'fast' | 'realistic';
  /** How long to wait for an owner that is still starting (default 15 min). */
  readonly waitMs?: number;
  /**
   * Guests this simulator may run (the lab's personas): with docker guests, the host's inotify
   * instance limit is checked against them (raised as root, else a clear refusal; adr/0187).
   */
  readonly expectedGuests?: number;
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
  /** The `/version` the simulator answers, e.g. `8.4.1`. */
  readonly pveVersion: string;
  /** Where the root@pam password is (ticket logins). */
  readonly rootPasswordFile: string;
  /** True when another process serves this state dir and we only connect to it. */
  readonly shared: boolean;
  close(): Promise<void>;
}

type EndpointInfo = Omit<EmbeddedSim, 'shared' | 'close'>;

/** What holds the lab, for the messages of other commands: the verb typed (`lab apply`). */
function purpose(): string {
  const words: string[] = [];
  for (const a of process.argv.slice(2)) {
    if (a.startsWith('-') || words.length === 2) break;
    words.push(a);
  }
  return ['lab', ...words].join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
 * first node — or attach to the one another process already serves on the same state dir. The
 * state dir has one owner at a time (`owner.lock`, pve-sim's state/owner-lock.ts); a command
 * that finds it owned attaches to the owner's published endpoint, or waits while the owner is
 * still starting, so two commands never run two simulators on one state (ADR 0170).
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedSim> {
  const sim = await import('@lab/pve-sim');
  const waitMs = options.waitMs ?? 15 * 60_000;
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const attached = await sim.attachEndpoint<EndpointInfo>(options.stateDir, purpose());
    if (attached) {
      const ep = attached.endpoint;
      options.reporter.emit({ type: 'log', level: 'info', message: `using the embedded lab served by ${sim.describeHolder(ep.owner)} at ${ep.url}` });
      if (options.pve !== undefined && !`${ep.pveVersion}.`.startsWith(`${options.pve}.`)) {
        options.reporter.emit({
          type: 'diagnostic',
          diagnostic: {
            severity: 'warning',
            code: 'LAB_SIM_PVE_MISMATCH',
            summary: `lab.yaml asks for Proxmox VE ${options.pve}, but the running simulator speaks ${ep.pveVersion}`,
            hint: `stop it (kill ${ep.owner.pid}) and run the command again, or start it with \`lab sim start --pve ${options.pve}\``,
          },
        });
      }
      const { pid: _pid, owner: _owner, ...info } = ep;
      return { ...info, shared: true, close: () => attached.release() };
    }
    let lock;
    try {
      lock = await sim.acquireOwnerLock(options.stateDir, purpose());
    } catch (err) {
      if (!isLabError(err) || err.code !== 'LAB_SIM_STATE_BUSY' || Date.now() > deadline) throw err;
      // Another host's lock will not go away by waiting here.
      const holder = await sim.readLockHolder(join(options.stateDir, sim.OWNER_LOCK));
      if (holder && sim.holderState(holder) === 'remote') throw err;
      // The owner is starting (guest image, guests) and has not published its endpoint yet.
      if (!told) {
        told = true;
        options.reporter.emit({ type: 'log', level: 'info', message: `waiting for the embedded lab: ${err.summary}` });
      }
      await sleep(250);
      continue;
    }
    if (lock.tookOverFrom) {
      options.reporter.emit({ type: 'log', level: 'info', message: `took the embedded lab over from ${sim.describeHolder(lock.tookOverFrom)}, which is gone` });
    }
    try {
      return await own(options, sim, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }
}

async function own(options: EmbeddedOptions, sim: typeof import('@lab/pve-sim'), lock: import('@lab/pve-sim').OwnerLock): Promise<EmbeddedSim> {
  const guests = await chooseGuests(options, sim);
  const instance = sim.guestInstanceName(options.stateDir);
  let backend;
  if (guests === 'docker') {
    if (options.expectedGuests) {
      const room = sim.ensureInotifyRoom(options.expectedGuests);
      if (room.raisedFrom !== undefined) {
        options.reporter.emit({ type: 'log', level: 'info', message: `raised fs.inotify.max_user_instances from ${room.raisedFrom} to ${room.limit} for ${options.expectedGuests} guest(s) (~8 each)` });
      }
    }
    const script = guestImageScript();
    const image = await sim.ensureGuestImage({
      ...(script ? { script } : {}),
      onProgress: (line) => options.reporter.emit({ type: 'log', level: 'debug', message: `guest image: ${line}` }),
    });
    if (image.built) options.reporter.emit({ type: 'log', level: 'info', message: `built the guest image ${image.tag}` });
    // Other Debian releases' guest images (a `debian-13` template boots trixie) are built on first use.
    const imageFor = async (suite: string): Promise<string> => (await sim.ensureGuestImage({ ...(script ? { script } : {}), suite })).tag;
    backend = sim.createDockerBackend({ image: image.tag, imageFor, instance, persistent: true });
  } else {
    backend = sim.createNoneBackend();
  }
  const running_ = await sim.startSimulator({
    stateDir: options.stateDir,
    nodes: options.nodes,
    guests: backend,
    lock,
    standInImages: options.standInImages ?? [],
    ...(options.pve === undefined ? {} : { pve: options.pve }),
    ...(options.timing === undefined ? {} : { timing: options.timing }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.https === undefined ? {} : { https: options.https }),
  });
  const jump = await sim.startJumpHost({
    stateDir: options.stateDir,
    authorizedKeys: options.authorizedKeys ?? [],
    resolve: (host, port) => running_.engine.resolveGuestEndpoint(host, port),
  });
  const info: EndpointInfo = {
    url: running_.url,
    fingerprint: running_.fingerprint,
    certificatePem: running_.certificatePem,
    adminToken: { id: running_.adminToken.id, secret: running_.adminToken.secret },
    jumpHost: { host: jump.host, port: jump.port, hostPublicKey: jump.hostPublicKey, knownHostsLine: jump.knownHostsLine() },
    guests,
    nodes: running_.nodes,
    pveVersion: running_.version,
    rootPasswordFile: running_.rootPasswordFile,
  };
  // Published for every owner, not only `lab sim start`: a second command attaches to it.
  await sim.publishEndpoint(options.stateDir, lock.holder, info);
  return {
    ...info,
    shared: false,
    async close() {
      await sim.withdrawEndpoint(options.stateDir, lock.holder);
      await sim.waitForClients(options.stateDir, (clients) =>
        options.reporter.emit({ type: 'log', level: 'info', message: `keeping the embedded lab up for ${clients.length} other command(s): ${clients.join('; ')}` }),
      );
      await jump.close();
      await running_.close();
      // Guests keep running, as VMs on a real node outlive the API client: the next process
      // on this state dir adopts them (containers are labelled with the instance).
      if (guests === 'none') await backend.close();
    },
  };
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
