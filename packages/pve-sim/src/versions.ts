import { LabError } from '@lab/core';
import { privilegeCatalogue, type PrivilegeCatalogue } from './access/privileges.js';

/**
 * The Proxmox VE releases the simulator speaks, chosen per run (`pve` option, `lab sim start
 * --pve 9.1`, `proxmox.version` in lab.yaml). Each names what differs on the wire and matters
 * to clients; handlers branch on these fields, never on version numbers (ADR 0171). What each
 * reproduces, with its source, is listed in docs/simulator.md.
 */
export interface PveRelease {
  /** `8.4`, `9.1`: what `release` in `/version` says. */
  readonly release: string;
  /** `/version`'s `version` (pve-manager's package version). */
  readonly version: string;
  readonly major: number;
  /** pve-manager's git commit, `/version`'s `repoid`. */
  readonly repoid: string;
  /** Node status `kversion` and `current-kernel.release`. */
  readonly kernel: { readonly release: string; readonly version: string };
  /** pve-qemu-kvm: `running-qemu`, `meta: creation-qemu=`, and the `running-machine` suffix. */
  readonly qemu: { readonly version: string; readonly machine: string };
  readonly privileges: PrivilegeCatalogue;
  /**
   * Privileges that let a caller run an agent command: any one of them (9.x: the command's
   * `VM.GuestAgent.*` privilege or `VM.GuestAgent.Unrestricted`; 8.x: `VM.Monitor`).
   */
  agentPrivileges(command: string): readonly string[];
  /** qemu-server 9 normalises `tags` at create too (split, lower-case, de-duplicate, sort). */
  readonly tagsNormalisedAtCreate: boolean;
  /**
   * pve-manager 9.1: `/cluster/resources` lists SDN zones (and fabrics) as `type: network` rows
   * (`network/<node>/zone/localnetwork`), and no `sdn` rows for nodes that send them.
   */
  readonly networkResources: boolean;
  /** pve-manager 8.4.17 / 9.1.5: every ticket or token failure is `401 Authentication failed!`. */
  readonly unifiedAuthFailure: boolean;
}

/** qemu-server 9's per-command guest-agent privileges (API2/Qemu/Agent.pm). */
const AGENT_9: Readonly<Record<string, readonly string[]>> = {
  'fsfreeze-status': ['VM.GuestAgent.Audit', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted'],
  'fsfreeze-freeze': ['VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted'],
  'fsfreeze-thaw': ['VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted'],
  fstrim: ['VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.Unrestricted'],
  'suspend-hybrid': ['VM.PowerMgmt', 'VM.GuestAgent.Unrestricted'],
  'suspend-ram': ['VM.PowerMgmt', 'VM.GuestAgent.Unrestricted'],
  'suspend-disk': ['VM.PowerMgmt', 'VM.GuestAgent.Unrestricted'],
  shutdown: ['VM.PowerMgmt', 'VM.GuestAgent.Unrestricted'],
  // the generic POST …/agent {command} endpoint
  '': ['VM.GuestAgent.Unrestricted'],
};

const PVE_8_4: PveRelease = {
  release: '8.4',
  version: '8.4.1',
  major: 8,
  repoid: '2a5fa54a8503f96d',
  kernel: { release: '6.8.12-9-pve', version: '#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)' },
  qemu: { version: '9.2.0', machine: '9.2+pve1' },
  privileges: privilegeCatalogue(8),
  agentPrivileges: () => ['VM.Monitor'],
  tagsNormalisedAtCreate: false,
  networkResources: false,
  unifiedAuthFailure: false,
};

const PVE_9_1: PveRelease = {
  release: '9.1',
  version: '9.1.1',
  major: 9,
  repoid: '42db4a6cf33dac83',
  kernel: { release: '6.17.2-1-pve', version: '#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)' },
  qemu: { version: '10.1.2', machine: '10.1+pve0' },
  privileges: privilegeCatalogue(9),
  agentPrivileges: (command) => AGENT_9[command] ?? ['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'],
  tagsNormalisedAtCreate: true,
  networkResources: true,
  unifiedAuthFailure: false,
};

export const PVE_RELEASES: readonly PveRelease[] = [PVE_8_4, PVE_9_1];

/** The release a run speaks when none is chosen. */
export const DEFAULT_PVE = '8.4';

/**
 * The release for `spec`: `8.4`, `9.1`, a full version (`9.1.1`: the release, answering that
 * exact version) or a major (`9`: its newest release). Unknown → `LAB_SIM_PVE_VERSION`.
 */
export function pveRelease(spec: string = DEFAULT_PVE): PveRelease {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(spec.trim());
  const known = PVE_RELEASES.map((r) => r.release).join(', ');
  const found = m
    ? m[2] === undefined
      ? PVE_RELEASES.filter((r) => r.major === Number(m[1])).at(-1)
      : PVE_RELEASES.find((r) => r.release === `${m[1]}.${m[2]}`)
    : undefined;
  if (!m || !found) {
    throw new LabError({
      code: 'LAB_SIM_PVE_VERSION',
      summary: `the simulator does not speak Proxmox VE '${spec}'`,
      detail: `it speaks ${known}`,
      hint: `choose one of ${known}, e.g. \`lab sim start --pve ${PVE_RELEASES.at(-1)!.release}\` or proxmox.version: '${PVE_RELEASES.at(-1)!.release}' in lab.yaml`,
    });
  }
  if (m[3] === undefined) return found;
  const patch = Number(m[3]);
  // the unified 401 text arrived in pve-manager 8.4.17 and 9.1.5 (commits d3973e63, 26c10a2e)
  const unified = (found.major === 8 && patch >= 17) || (found.major === 9 && patch >= 5);
  return { ...found, version: `${m[1]}.${m[2]}.${m[3]}`, unifiedAuthFailure: unified };
}
