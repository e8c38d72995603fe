import type { StandInImage } from './storage/stand-in.js';
import type { GuestBackend } from './guests/backend.js';
import type { OwnerLock } from './state/owner-lock.js';
import type { PveRelease } from './versions.js';

/** How long simulated things take. `fast` is for tests; `realistic` approximates a real node. */
export interface TimingOptions {
  /** PVE delays every 401 by ~3 s. */
  readonly authFailureDelayMs: number;
  /** Default duration of a task's simulated work. */
  readonly taskMs: number;
  /** Per task type overrides (`qmclone`, `qmstart`, `download`, `vzdump`…). */
  readonly taskTypeMs: Readonly<Record<string, number>>;
  /** Guest agent answers only this long after a start. */
  readonly agentBootMs: number;
  /** Multiplies PVE's flock waits (10 s config, 1 s clone, 5 s create). */
  readonly flockScale: number;
  /** pvestatd broadcast period: cluster/resources shows stale status for up to this long. */
  readonly resourcesLagMs: number;
  /** Maximum wait for guest backend shutdown before a forced stop (scaled PVE default 60 s). */
  readonly shutdownTimeoutMs: number;
}

export const FAST_TIMING: TimingOptions = {
  authFailureDelayMs: 0,
  taskMs: 0,
  taskTypeMs: {},
  agentBootMs: 0,
  flockScale: 0.02,
  resourcesLagMs: 0,
  shutdownTimeoutMs: 2_000,
};

export const REALISTIC_TIMING: TimingOptions = {
  authFailureDelayMs: 3_000,
  taskMs: 500,
  taskTypeMs: { qmclone: 1_500, qmcreate: 1_500, qmstart: 1_000, vzdump: 3_000, qmrestore: 3_000, download: 500 },
  agentBootMs: 8_000,
  flockScale: 1,
  resourcesLagMs: 10_000,
  shutdownTimeoutMs: 60_000,
};

/** Switches between behaviours that changed within PVE 8.x. */
export interface CompatOptions {
  /** `/version` answer. */
  readonly version: string;
  /** pve-http-server >= 5.2.0 adds `"message"` to JSON error bodies and text to raw errors. */
  readonly messageField: boolean;
  /** pve-manager >= 8.4.17 answers every ticket/token failure with `401 Authentication failed!`. */
  readonly unifiedAuthFailure: boolean;
}

export const DEFAULT_COMPAT: CompatOptions = {
  version: '8.4.1',
  messageField: true,
  unifiedAuthFailure: false,
};

/** What a node's `/etc/resolv.conf` says; cloud-init falls back to it. */
export interface HostDns {
  readonly search: string;
  readonly servers: readonly string[];
}

export interface SimulatorOptions {
  /** Directory holding all state; created when missing. A restart with the same dir loses nothing. */
  readonly stateDir: string;
  /** A node count (`3` → `pve1..pve3`, `1` → `pve`) or explicit names. The first node serves the API. */
  readonly nodes?: number | readonly (string | NodeSpec)[];
  /** Serve HTTPS with a self-signed certificate (default) or plain HTTP. */
  readonly https?: boolean;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Listen address; must be loopback. Default `127.0.0.1`. */
  readonly host?: string;
  /** Runs the guests. */
  readonly guests: GuestBackend;
  /** Makes MACs, UUIDs, pids and secrets reproducible. */
  readonly seed?: string | number;
  /** Wall clock in epoch ms; inject to test ticket expiry. */
  readonly clock?: () => number;
  /** `fast` (default) or `realistic`, or explicit numbers. */
  readonly timing?: 'fast' | 'realistic' | Partial<TimingOptions>;
  readonly compat?: Partial<CompatOptions>;
  /** Proxmox VE release to speak: `8.4` (default) or `9.1` (see versions.ts). */
  readonly pve?: string;
  readonly hostDns?: HostDns;
  /** Secret for the `/_sim` control endpoint; generated and stored when omitted. */
  readonly controlToken?: string;
  /** Use this certificate instead of generating one into `<stateDir>/tls/` (tests share one). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Extra CA certificates (PEM) trusted by download-url for https loopback URLs. */
  readonly downloadCa?: string;
  /** Public image URLs `download-url` pretends to fetch (no network): see storage/stand-in.ts. */
  readonly standInImages?: readonly StandInImage[];
  /** The state dir's owner lock, already taken by the caller; taken here when omitted. */
  readonly lock?: OwnerLock;
  /** What the owner lock says holds the state dir (`lab apply`, `lab sim start`…). */
  readonly lockPurpose?: string;
}

export interface ResolvedOptions {
  readonly pve: PveRelease;
  readonly timing: TimingOptions;
  readonly compat: CompatOptions;
  readonly hostDns: HostDns;
  readonly downloadCa: string | undefined;
  readonly standInImages: readonly StandInImage[];
}

export function resolveTiming(t: SimulatorOptions['timing']): TimingOptions {
  if (t === undefined || t === 'fast') return FAST_TIMING;
  if (t === 'realistic') return REALISTIC_TIMING;
  return { ...FAST_TIMING, ...t };
}

/** A node with its size; a fresh install's defaults (16 CPUs, 64 GiB) apply to what is left out. */
export interface NodeSpec {
  readonly name: string;
  readonly cpus?: number;
  /** Bytes. */
  readonly memory?: number;
}

export function nodeSpecs(spec: SimulatorOptions['nodes']): NodeSpec[] {
  if (spec === undefined) return [{ name: 'pve' }];
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 1) throw new Error(`nodes must be a positive integer, got ${spec}`);
    return spec === 1 ? [{ name: 'pve' }] : Array.from({ length: spec }, (_v, i) => ({ name: `pve${i + 1}` }));
  }
  if (spec.length === 0) throw new Error('nodes must name at least one node');
  return spec.map((n) => (typeof n === 'string' ? { name: n } : n));
}

export function nodeNames(spec: SimulatorOptions['nodes']): string[] {
  return nodeSpecs(spec).map((n) => n.name);
}
