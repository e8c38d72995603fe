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
/** A validated `lab.yaml`. */
export type Site = DeepReadonly<z.output<ReturnType<typeof siteSchema>>>;

export type Vm = Persona['vm'];
export type Disk = Vm['disks'][number];
export type Nic = Vm['nics'][number];
export type ImageRef = Vm['image'];
export type Os = Persona['os'];
export type Workloads = Persona['workloads'];
export type Stack = Workloads['stacks'][number];
export type Capture = NonNullable<Persona['capture']>;
export type SiteImage = Site['images'][number];
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
