import type { z } from 'zod';
import type { Diagnostic, SourceLocation } from '@lab/core';
import type { PersonaSchema } from './schema/persona.js';
import type { siteSchema } from './schema/site.js';

/** Recursively readonly: intent is a value, layers read it and never change it. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A validated, composed persona with defaults applied; sizes in bytes, durations in seconds. */
export type Persona = DeepReadonly<z.output<PersonaSchema>>;
/** `lab.yaml` as the schema validates it, before bake profiles are resolved. */
export type RawSite = DeepReadonly<z.output<ReturnType<typeof siteSchema>>>;
type RawImage = RawSite['images'][number];

/** A resolved bake profile (adr/0145): what L1 converges on a clone of `base` before templating. */
export interface BakedImage {
  readonly base: { readonly image: string; readonly version: string };
  /** sha256 of the resolved OS spec and the files it reads; the version ends in its first 8 hex digits. */
  readonly hash: string;
  /** The composed, validated OS spec (mixins included), as a persona's `os:`. */
  readonly os: Os;
  /** Mixin files the profile was composed from. */
  readonly files: readonly string[];
  /**
   * Where the bake VMs boot once (reached through the jump host). Each node bakes at once, each
   * at its own address: `address` for the first node, counting down for the next (`addresses`).
   */
  readonly network: { readonly bridge: string; readonly vlan?: number; readonly address: string; readonly gateway?: string; readonly addresses: Readonly<Record<string, string>> };
}

/** An image of the catalogue; a baked one has its derived version in `versions` and `stable`. */
export type SiteImage = Omit<RawImage, 'stable' | 'storage'> & { readonly stable: string; readonly storage: string; readonly baked?: BakedImage };

/** A validated `lab.yaml`, bake profiles resolved. */
export type Site = Omit<RawSite, 'images'> & { readonly images: readonly SiteImage[] };

export type Vm = Persona['vm'];
export type Disk = Vm['disks'][number];
export type Nic = Vm['nics'][number];
export type ImageRef = Vm['image'];
export type Os = Persona['os'];
export type Workloads = Persona['workloads'];
export type Stack = Workloads['stacks'][number];
export type Capture = NonNullable<Persona['capture']>;
export type Storage = Site['storages'][number];
export type Bridge = Site['bridges'][number];
export type Repository = Site['repositories'][number];

/** Where a path of a loaded document was written. */
export interface Location {
  readonly source: SourceLocation;
  /** The path as it reads in that file, e.g. `vm.disks[1].size`. */
  readonly path: string;
}

export interface LoadedSite {
  readonly site: Site;
  /** `lab.yaml`, relative to the lab root. */
  readonly file: string;
  /** sha256 of the validated site, for plan bases. */
  readonly digest: string;
  readonly warnings: readonly Diagnostic[];
  locate(path: readonly (string | number)[]): Location | undefined;
}

export interface LoadedPersona {
  readonly name: string;
  readonly persona: Persona;
  /** `personas/<name>/persona.yaml`, relative to the lab root. */
  readonly file: string;
  /** `personas/<name>`; relative paths inside the persona (compose files, sources) are already lab-root-relative. */
  readonly dir: string;
  /** Files the persona was composed from, in merge order: mixins first, the persona file last. */
  readonly files: readonly string[];
  /** sha256 of the validated persona, for plan bases. */
  readonly digest: string;
  readonly warnings: readonly Diagnostic[];
  locate(path: readonly (string | number)[]): Location | undefined;
}

export interface Lab {
  /** Absolute path of the lab root (the folder holding lab.yaml). */
  readonly root: string;
  readonly site: LoadedSite;
  /** Every persona, sorted by name. */
  readonly personas: readonly LoadedPersona[];
  readonly warnings: readonly Diagnostic[];
}
