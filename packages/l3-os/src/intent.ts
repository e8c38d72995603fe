import type { Secret } from '@lab/core';
import type { GroupSpec, UserSpec } from './ops/accounts.js';
import type { PackageSpec, RepositorySpec } from './ops/apt.js';
import type { DirectorySpec } from './ops/files.js';
import type { FirewallRule } from './ops/firewall.js';
import type { MountSpec } from './ops/mounts.js';
import type { DataDiskSpec } from './ops/data-disks.js';
import type { UnitFileSpec } from './ops/systemd.js';

/**
 * The persona's `os:` section with everything that needs IO already resolved: secrets are
 * `Secret`s, `source:` files and templates are rendered text, repository keys are bytes whose
 * fingerprint was checked. Planning is a pure function of this and the facts.
 */
export interface L3Intent {
  readonly persona: string;
  readonly hostname: string;
  readonly domain?: string;
  readonly timezone: string;
  readonly locale: string;
  readonly packages: readonly PackageSpec[];
  readonly aptProxy?: string;
  readonly repositories: readonly RepositorySpec[];
  readonly groups: readonly GroupSpec[];
  readonly users: readonly L3User[];
  readonly files: readonly L3File[];
  readonly directories: readonly DirectorySpec[];
  readonly lines: readonly L3Line[];
  readonly blocks: readonly L3Block[];
  readonly sysctl: Readonly<Record<string, string | number | boolean>>;
  readonly modules: readonly string[];
  readonly units: readonly UnitFileSpec[];
  readonly services: readonly L3Service[];
  readonly firewall: L3Firewall;
  readonly mounts: readonly L3Mount[];
  /** Data disks of `vm.disks` with a mount: formatted once, mounted by label (adr/0176). */
  readonly dataDisks?: readonly DataDiskSpec[];
  readonly hosts: readonly { readonly ip: string; readonly names: readonly string[] }[];
  readonly ntpServers?: readonly string[];
  readonly journald?: { readonly maxUseBytes?: number; readonly maxRetentionSeconds?: number };
  readonly swap?: { readonly sizeBytes: number; readonly swappiness: number };
  readonly unattendedUpgrades?: L3UnattendedUpgrades;
  /**
   * Docker engine + Compose for L4, when the persona has stacks: Debian's docker.io and
   * docker-compose, unless the persona installs an engine itself (docker-ce from Docker's repo).
   */
  readonly docker?: { readonly composeCommand: 'docker compose' | 'docker-compose' };
}

export interface L3User extends UserSpec {
  readonly sudo: 'none' | 'password' | 'nopasswd';
  readonly sshKeys: readonly string[];
}

export interface L3File {
  readonly path: string;
  readonly state: 'present' | 'absent';
  readonly content?: string | Secret<string>;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

export interface L3Line {
  readonly path: string;
  readonly line: string;
  readonly match?: string;
  readonly state: 'present' | 'absent';
  readonly create: boolean;
}

export interface L3Block {
  readonly path: string;
  readonly marker: string;
  readonly content: string;
  readonly state: 'present' | 'absent';
}

export interface L3Service {
  readonly name: string;
  readonly enabled: boolean;
  readonly state: 'running' | 'stopped';
  readonly masked: boolean;
  readonly restartOn: readonly string[];
}

export interface L3Firewall {
  readonly enabled: boolean;
  readonly policy: { readonly input: 'drop' | 'accept'; readonly forward: 'drop' | 'accept'; readonly output: 'drop' | 'accept' };
  readonly allowPing: boolean;
  readonly allow: readonly FirewallRule[];
}

export interface L3Mount extends MountSpec {
  /** CIFS credentials file content (`username=…`/`password=…`). */
  readonly credentials?: Secret<string>;
}

export interface L3UnattendedUpgrades {
  readonly enabled: boolean;
  readonly origins: readonly string[];
  readonly automaticReboot: boolean;
  readonly rebootTime: string;
  readonly removeUnused: boolean;
}

/** An intent that manages nothing but the defaults, as a base for tests and tools. */
export function emptyIntent(persona: string): L3Intent {
  return {
    persona,
    hostname: persona,
    timezone: 'Etc/UTC',
    locale: 'C.UTF-8',
    packages: [],
    repositories: [],
    groups: [],
    users: [],
    files: [],
    directories: [],
    lines: [],
    blocks: [],
    sysctl: {},
    modules: [],
    units: [],
    services: [],
    firewall: { enabled: false, policy: { input: 'drop', forward: 'drop', output: 'accept' }, allowPing: true, allow: [] },
    mounts: [],
    hosts: [],
  };
}
