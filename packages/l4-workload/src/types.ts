import type { Secret } from '@lab/core';
import type { ImageOverrideNote } from './image-overrides.js';

/** One file of a release, relative to the release directory. */
export interface ReleaseFile {
  readonly path: string;
  readonly content: string | Secret<string>;
  readonly mode: string;
  /** sha256 of the content as written (what `sha256sum` prints on the guest). */
  readonly digest: string;
}

export interface HealthProbe {
  readonly name: string;
  readonly kind: 'http' | 'tcp';
  readonly host: string;
  readonly port: number;
  /** HTTP only. */
  readonly path?: string;
  readonly status?: number;
  readonly contains?: string;
}

export interface StackHealth {
  readonly containers: boolean;
  readonly probes: readonly HealthProbe[];
  readonly timeoutS: number;
}

/** A stack rendered from intent: everything the guest will hold, plus what plans may show. */
export interface RenderedStack {
  readonly name: string;
  /** Content hash of the release (its directory name on the guest). */
  readonly hash: string;
  readonly state: 'up' | 'down';
  readonly profiles: readonly string[];
  readonly pull: 'missing' | 'always' | 'never';
  readonly dependsOn: readonly string[];
  readonly health: StackHealth;
  /** The compose document as declared (no lab labels), for diffs. */
  readonly composeText: string;
  /** Env as plans may show it: secrets are `***`. */
  readonly envDisplay: Readonly<Record<string, string>>;
  /** Per-variable digest, so a changed secret shows as changed without showing it. */
  readonly envDigests: Readonly<Record<string, string>>;
  /** Services that should run (profiles applied) and their lab hash label. */
  readonly services: Readonly<Record<string, string>>;
  /** The image each service that runs will use (after overrides), by service name. */
  readonly images: Readonly<Record<string, string>>;
  /** Services whose `image:` an override rewrote (adr/0120); absent when none did. */
  readonly imageOverrides?: readonly ImageOverrideNote[];
  readonly files: readonly ReleaseFile[];
}

export interface DesiredWorkloads {
  readonly persona: string;
  readonly composeCommand: 'docker compose' | 'docker-compose';
  readonly stacksDir: string;
  readonly stacks: readonly RenderedStack[];
  /** How the guest gets its images (adr/0150): Compose pulls them, or lab pushes them over SSH. */
  readonly imageDelivery: ImageDelivery;
  /** The persona's lifecycle stage: stand-in images are refused on `stable` unless allowed. */
  readonly stage: 'stable' | 'experimental';
  /** lab.yaml `workloads.allowStandIns`. */
  readonly allowStandIns: boolean;
}

export type ImageDelivery = 'registry' | 'push';

/** What the workstation's Docker engine holds for one image (the source of a push). */
export interface WorkstationImage {
  /** `sha256:…`, the image ID (config digest): equal IDs mean the same image. */
  readonly id: string;
  readonly sizeBytes: number;
  /** Label `dev.lab.stand-in`: the upstream image this one stands in for (tools/test-images). */
  readonly standInFor?: string;
}

/** What a release directory records about itself (`lab-release.json`). */
export interface ReleaseManifest {
  readonly formatVersion: 1;
  readonly stack: string;
  readonly hash: string;
  readonly compose: string;
  readonly env: Readonly<Record<string, string>>;
  readonly envDigests: Readonly<Record<string, string>>;
  readonly services: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string>>;
}

/** What lab records in `<stack>/state.json` after a release passed its health gate. */
export interface StackRecord {
  readonly lastGood: string;
  readonly containers: Readonly<Record<string, { readonly id: string; readonly configHash: string }>>;
}

export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  readonly project: string;
  readonly service: string;
  readonly state: string;
  readonly health: string;
  readonly serviceHash?: string;
  readonly configHash?: string;
  readonly labStack?: string;
}

export interface ObservedStack {
  readonly name: string;
  readonly current?: string;
  readonly releases: readonly string[];
  readonly manifest?: ReleaseManifest;
  /** sha256 of each file in the current release (manifest excluded), by relative path. */
  readonly fileDigests: Readonly<Record<string, string>>;
  readonly record?: StackRecord;
}

export interface WorkloadObservation {
  readonly docker: boolean;
  /** `2.24.0`, `1.29.2`; undefined when the compose command is missing. */
  readonly composeVersion?: string;
  readonly stacks: readonly ObservedStack[];
  /** Every container that belongs to a Compose project. */
  readonly containers: readonly ObservedContainer[];
  /** Tagged images in the guest's engine: `repo:tag` → image ID. */
  readonly images?: Readonly<Record<string, string>>;
}

export const LABEL_STACK = 'dev.lab.stack';
export const LABEL_SERVICE_HASH = 'dev.lab.service-hash';
export const MANIFEST_FILE = 'lab-release.json';
