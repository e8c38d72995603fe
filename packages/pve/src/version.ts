import { PveError } from './errors.js';

/** `GET /version` as lab reads it. */
export interface PveVersion {
  /** `8.4.1` */
  readonly version: string;
  /** `8.4` */
  readonly release: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Releases lab is built and tested for; 9.x runs with the gates below. */
export const SUPPORTED_PVE = { min: '8.0', maxMajor: 9 } as const;

/**
 * What differs between the versions lab supports (pve-api.md §9). Layers branch on these
 * flags, never on version numbers.
 */
export interface PveFeatures {
  readonly supported: boolean;
  /** Non-root users need `SDN.Use` on `/sdn/zones/localnetwork/<bridge>[/<tag>]` (8.0+). */
  readonly sdnUseOnBridges: boolean;
  /** `PUT …/resize` returns a UPID (8.0+; null before). */
  readonly resizeIsTask: boolean;
  /** `memory` in a VM config is a string (8.1+). */
  readonly memoryIsString: boolean;
  /** download-url accepts `Sys.AccessNetwork` on the node instead of `Sys.Audit`+`Sys.Modify` on `/` (8.1+). */
  readonly downloadWithAccessNetwork: boolean;
  /** dir storages have the `import` content type and `import-from` takes import volumes (8.3+). */
  readonly importContent: boolean;
  /** download-url/upload of `.qcow2/.raw/.vmdk` to `import` content (8.4+); before, only `.ova`. */
  readonly importDiskImages: boolean;
  /** ISO volumes need an explicit `media=cdrom` (8.4+). */
  readonly isoNeedsMediaCdrom: boolean;
  /** Every ticket/token failure is `401 Authentication failed!` (8.4.17+): never parse 401 text. */
  readonly unifiedAuthFailure: boolean;
  /** Privilege the guest-agent endpoints need: `VM.Monitor` (8) or `VM.GuestAgent.Audit` (9). */
  readonly guestAgentPrivilege: 'VM.Monitor' | 'VM.GuestAgent.Audit';
  /** Tags are normalised already at create (9+); on 8 only updates normalise. */
  readonly tagsNormalisedAtCreate: boolean;
}

/** Parse `8.4.1`, `8.4`, `pve-manager/8.4.1/…`; undefined when unreadable. */
export function parsePveVersion(text: string, release?: string): PveVersion | undefined {
  const m = /(\d+)\.(\d+)(?:[.-](\d+))?/.exec(text);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = m[3] === undefined ? 0 : Number(m[3]);
  return { version: `${major}.${minor}.${patch}`, release: release ?? `${major}.${minor}`, major, minor, patch };
}

function atLeast(v: PveVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

export function isSupportedVersion(v: PveVersion): boolean {
  return atLeast(v, 8, 0) && v.major <= SUPPORTED_PVE.maxMajor;
}

export function pveFeatures(v: PveVersion): PveFeatures {
  return {
    supported: isSupportedVersion(v),
    sdnUseOnBridges: atLeast(v, 8, 0),
    resizeIsTask: atLeast(v, 8, 0),
    memoryIsString: atLeast(v, 8, 1),
    downloadWithAccessNetwork: atLeast(v, 8, 1),
    importContent: atLeast(v, 8, 3),
    importDiskImages: atLeast(v, 8, 4),
    isoNeedsMediaCdrom: atLeast(v, 8, 4),
    unifiedAuthFailure: atLeast(v, 8, 4, 17),
    guestAgentPrivilege: v.major >= 9 ? 'VM.GuestAgent.Audit' : 'VM.Monitor',
    tagsNormalisedAtCreate: v.major >= 9,
  };
}

/** Throw `LAB_PVE_VERSION` for a release lab does not support. */
export function assertSupportedVersion(v: PveVersion): void {
  if (isSupportedVersion(v)) return;
  throw new PveError({
    code: 'LAB_PVE_VERSION',
    summary: `Proxmox VE ${v.version} is not supported (lab supports ${SUPPORTED_PVE.min} to ${SUPPORTED_PVE.maxMajor}.x)`,
    hint: v.major < 8 ? 'upgrade the cluster to Proxmox VE 8 (`pve7to8`)' : 'use a lab release that supports this Proxmox version',
  });
}
