import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { LabError } from '@lab/core';
import type { GuestBackend, LoopbackEndpoint } from './guests/backend.js';
import { DEFAULT_COMPAT, nodeSpecs, resolveTiming, type ResolvedOptions, type SimulatorOptions } from './options.js';
import { StateStore, writeFileAtomic } from './state/persist.js';
import { initialState } from './state/init.js';
import { hashPassword } from './access/passwords.js';
import { createRandom, randomUuid } from './util/_prng.js';
import { Sim, type SimListener } from './engine/sim.js';
import { Router } from './http/_router.js';
import { createRequestHandler } from './http/_server.js';
import { loadOrCreateTls } from './http/_tls.js';
import { createControlHandler } from './faults/control.js';
import type { FaultController } from './faults/faults.js';
import { allRoutes } from './routes/index.js';
import { isLoopbackHost } from './storage/download.js';
import { placeSnippet } from './storage/snippets.js';
import { recoverAfterRestart } from './qemu/recover.js';
import type { TaskRecord } from './state/model.js';
import { acquireOwnerLock, type OwnerLock } from './state/owner-lock.js';
import { pveRelease } from './versions.js';

export const ADMIN_TOKEN_ID = 'root@pam!lab-admin';

/** Read-only window into the running engine, for the jump host and tests. */
export interface SimEngine {
  /** Loopback endpoint of `port` on the running VM that declares IPv4 `address`. */
  resolveGuestEndpoint(address: string, port: number): Promise<LoopbackEndpoint | undefined>;
  /** Subscribe to request/task/guest events; returns the unsubscribe function. */
  on(listener: SimListener): () => void;
  /** Resolves with the task record when the task has finished. */
  waitForTask(upid: string): Promise<TaskRecord | undefined>;
  /** Put a snippet (cicustom) file on a dir storage; returns its volid. */
  placeSnippet(node: string, storage: string, name: string, content: string): Promise<string>;
  readonly nodes: readonly string[];
  readonly guests: GuestBackend;
}

export interface RunningSimulator {
  /** `https://127.0.0.1:<port>` (or `http://…`). */
  readonly url: string;
  /** `<url>/api2/json`. */
  readonly apiUrl: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: 'https' | 'http';
  /** SHA-256 fingerprint of the certificate, colon hex; undefined for plain HTTP. */
  readonly fingerprint: string | undefined;
  /** The certificate (PEM) to pin as the only trusted CA; undefined for plain HTTP. */
  readonly certificatePem: string | undefined;
  readonly rootPassword: string;
  /** `<stateDir>/root-password`: where ticket-based clients read the root password. */
  readonly rootPasswordFile: string;
  /** What `/version` answers, e.g. `8.4.1` or `9.1.1`. */
  readonly version: string;
  /** `root@pam!lab-admin`, privsep=0. */
  readonly adminToken: { readonly id: string; readonly secret: string; readonly header: string };
  /** Bearer token of the `/_sim` control endpoint. */
  readonly controlToken: string;
  readonly nodes: readonly string[];
  readonly faults: FaultController;
  readonly engine: SimEngine;
  close(): Promise<void>;
}

async function secretFile(stateDir: string, name: string, make: () => string): Promise<string> {
  const file = `${stateDir}/${name}`;
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const value = make();
    await writeFileAtomic(file, `${value}\n`, 0o600);
    return value;
  }
}

/**
 * Start a simulated Proxmox VE 8.4 cluster on loopback. State lives in `stateDir`; starting
 * again with the same directory resumes everything (VMs, tasks, tokens, storage content).
 */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new LabError({
      code: 'LAB_SIM_HOST_NOT_LOOPBACK',
      summary: `the simulator may only listen on loopback, not '${host}'`,
      hint: 'omit `host` or pass 127.0.0.1 / ::1',
    });
  }
  const pve = pveRelease(opts.pve); // a bad version fails before anything is touched
  // One process at a time serves and writes a state dir: take (or adopt) its owner lock first.
  const lock: OwnerLock = opts.lock ?? (await acquireOwnerLock(opts.stateDir, opts.lockPurpose ?? 'a Proxmox VE simulator'));
  try {
    return await serve(opts, host, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function serve(opts: SimulatorOptions, host: string, lock: OwnerLock): Promise<RunningSimulator> {
  const rng = createRandom(opts.seed);
  const clock = opts.clock ?? (() => Date.now());
  const specs = nodeSpecs(opts.nodes);
  const names = specs.map((n) => n.name);
  const rootPassword = await secretFile(opts.stateDir, 'root-password', () => rng.bytes(12).toString('base64url'));
  const controlToken = opts.controlToken ?? (await secretFile(opts.stateDir, 'control-token', () => rng.bytes(24).toString('base64url')));
  const { store } = await StateStore.open(opts.stateDir, () =>
    initialState(specs, { rootPasswordHash: hashPassword(rootPassword), adminTokenSecret: randomUuid(rng) }, rng, clock()),
  );
  store.guardWith(() => lock.held());
  const localNode = Object.keys(store.state.nodes)[0]!;
  const pve = pveRelease(opts.pve);
  const resolved: ResolvedOptions = {
    pve,
    timing: resolveTiming(opts.timing),
    compat: { ...DEFAULT_COMPAT, version: pve.version, unifiedAuthFailure: pve.unifiedAuthFailure, ...opts.compat },
    hostDns: opts.hostDns ?? { search: 'lab.internal', servers: ['192.168.100.1'] },
    downloadCa: opts.downloadCa,
    standInImages: opts.standInImages ?? [],
  };
  const sim = new Sim({ store, options: resolved, guests: opts.guests, rng, clock, localNode });
  sim.tasks.reapOrphans();
  await recoverAfterRestart(sim);

  const router = new Router();
  router.addAll(allRoutes);
  const handler = createRequestHandler({ sim, router, control: createControlHandler(sim, controlToken) });
  const useHttps = opts.https ?? true;
  let server: http.Server;
  let certificatePem: string | undefined;
  if (useHttps) {
    const tls = await loadOrCreateTls(opts.stateDir, localNode, opts.tls);
    sim.fingerprint = tls.fingerprint;
    certificatePem = tls.cert;
    server = https.createServer({ cert: tls.cert, key: tls.key }, handler);
  } else {
    server = http.createServer(handler);
  }
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const protocol = useHttps ? 'https' : 'http';
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${protocol}://${urlHost}:${port}`;
  const adminSecret = store.state.access.users['root@pam']?.tokens['lab-admin']?.secret ?? '';
  await sim.save();

  let closed = false;
  return {
    url,
    apiUrl: `${url}/api2/json`,
    host,
    port,
    protocol,
    fingerprint: useHttps ? sim.fingerprint : undefined,
    certificatePem,
    rootPassword,
    rootPasswordFile: `${opts.stateDir}/root-password`,
    version: resolved.compat.version,
    adminToken: { id: ADMIN_TOKEN_ID, secret: adminSecret, header: `PVEAPIToken=${ADMIN_TOKEN_ID}=${adminSecret}` },
    controlToken,
    nodes: Object.keys(store.state.nodes),
    faults: sim.faults,
    engine: {
      resolveGuestEndpoint: (address, p) => sim.resolveGuestEndpoint(address, p),
      on: (l) => sim.on(l),
      waitForTask: (upid) => sim.tasks.wait(upid),
      placeSnippet: async (node, storage, name, content) => {
        const id = await placeSnippet(sim, node, storage, name, content);
        await sim.save();
        return id;
      },
      nodes: Object.keys(store.state.nodes),
      guests: opts.guests,
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sim.tasks.drain();
      try {
        await sim.save();
      } finally {
        await lock.release();
      }
    },
  };
}
