import { createPlan, type Change, type Diagnostic, type FieldDiff, type Plan } from '@lab/core';
import { nextFreeVmid, type PveClient } from '@lab/pve';
import { restoreAddress, vmAddress } from './_addresses.js';
import { readArchiveConfig, type ArchiveConfig } from './archive-config.js';
import { listVmBackups, type BackupArchive } from './backups.js';
import { personaTag } from '@lab/pve';
import { findPersonaVm, markerPersona, readCluster, type PersonaVm } from './persona-vm.js';

/**
 * How a restore treats the persona's VM (adr/0102):
 * - `overwrite`: over the persona's existing VM (PVE `force=1`; the VM is stopped first);
 * - `recreate`: the persona has no VM any more; the archive becomes its VM again, identity kept;
 * - `copy`: beside the persona's VM under another VMID, stripped of lab's identity so L2 never
 *   mistakes it for the persona's VM, with new MACs, never started, `onboot` off.
 */
export type RestoreMode = 'overwrite' | 'recreate' | 'copy';

export interface VmRestoreIntent {
  readonly persona: string;
  /** The storage holding the persona's archives. */
  readonly storage: string;
  /** `vm.vmid` of the persona, when declared (to find its VM). */
  readonly vmid?: number;
  /** Archive volid; default: the newest archive of the persona's VM. */
  readonly archive?: string;
  /** `--vmid`: where to restore. */
  readonly target?: number;
  /** `--force`: overwrite the persona's existing VM. */
  readonly force: boolean;
  /** Pool a recreated VM joins (the persona's stage pool). */
  readonly pool?: string;
}

export interface VmRestoreObservation {
  readonly vm: PersonaVm | undefined;
  readonly archives: readonly BackupArchive[];
  readonly archive: BackupArchive | undefined;
  readonly archiveConfig: ArchiveConfig | undefined;
  /** Every VMID in use on the cluster, with its name. */
  readonly used: ReadonlyMap<number, string>;
  /** `cluster/nextid`. */
  readonly nextid: number;
}

/** The `after` of a restore change: the exact call apply makes and what verify expects. */
export interface RestoreCall {
  readonly mode: RestoreMode;
  readonly node: string;
  readonly vmid: number;
  readonly archive: string;
  /** Start the VM when the restore ends (PVE's `start=1`). */
  readonly start: boolean;
  readonly unique: boolean;
  readonly pool?: string;
  /** Config overrides PVE applies after reading the archive (non-drive keys only). */
  readonly overrides: Readonly<Record<string, string>>;
  readonly expectedTags: readonly string[];
  /** The persona the restored VM's marker names, or undefined for a copy. */
  readonly owner?: string;
  readonly disks: readonly string[];
}

export const RESTORE_BASIS_PREFIX = 'capture/restore:';
const NOISE = new Set(['digest', 'vmgenid', 'smbios1', 'meta', 'lock', 'description']);

export async function observeVmRestore(client: PveClient, intent: VmRestoreIntent): Promise<VmRestoreObservation> {
  const cluster = await readCluster(client);
  const vm = await findPersonaVm(client, intent.persona, { ...(intent.vmid !== undefined ? { vmid: intent.vmid } : {}), cluster });
  const nodes = vm ? [vm.node, ...cluster.nodes.filter((n) => n.online && n.node !== vm.node).map((n) => n.node)] : cluster.nodes.filter((n) => n.online).map((n) => n.node);
  const vmid = vm?.vmid ?? intent.vmid;
  const archives = await listVmBackups(client, { storage: intent.storage, nodes, ...(vmid !== undefined ? { vmid } : {}), persona: intent.persona });
  const archive = intent.archive !== undefined ? archives.find((a) => a.volid === intent.archive) : archives[0];
  const archiveConfig = archive ? await readArchiveConfig(client, archive.node, archive.volid) : undefined;
  const nextid = (await nextFreeVmid(client)) ?? 100;
  return { vm, archives, archive, archiveConfig, used: new Map(cluster.vms.map((v) => [v.vmid, v.name])), nextid };
}

interface Target {
  readonly mode: RestoreMode;
  readonly vmid: number;
}

function chooseTarget(intent: VmRestoreIntent, obs: VmRestoreObservation, archive: BackupArchive, diags: Diagnostic[]): Target | undefined {
  const address = vmAddress(intent.persona);
  const vm = obs.vm;
  if (vm) {
    if (intent.target === undefined || intent.target === vm.vmid) {
      if (intent.force) return { mode: 'overwrite', vmid: vm.vmid };
      if (intent.target === vm.vmid) {
        diags.push({ severity: 'error', code: 'LAB_CAPTURE_RESTORE_FORCE', address, summary: `VM ${vm.vmid} is persona ${intent.persona}'s VM; restoring over it destroys its current disks`, hint: `pass --force to overwrite it, or restore beside it: --vmid ${obs.nextid}` });
        return undefined;
      }
      return { mode: 'copy', vmid: obs.nextid };
    }
    if (intent.force) diags.push({ severity: 'info', code: 'LAB_CAPTURE_RESTORE_COPY', address, summary: `--vmid ${intent.target} is not the persona's VM (${vm.vmid}); --force does not apply to a copy` });
    return { mode: 'copy', vmid: intent.target };
  }
  return { mode: 'recreate', vmid: intent.target ?? intent.vmid ?? archive.vmid };
}

function copyIdentity(persona: string, cfg: ArchiveConfig, archive: string): { overrides: Record<string, string>; tags: string[] } {
  const tags = [...cfg.tags.filter((t) => t !== personaTag(persona)), 'lab-restore'].sort();
  const text = (cfg.config['description'] ?? '').replace(/^lab:managed persona=.*$/m, '').trim();
  const mark = `lab:restored persona=${persona} archive=${archive}`;
  return {
    overrides: { name: `${persona}-restore`, tags: tags.join(';'), description: text ? `${text}\n\n${mark}` : mark, onboot: '0' },
    tags,
  };
}

function configDiff(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): FieldDiff[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !NOISE.has(k) && !/^unused\d+$/.test(k)).sort();
  return keys.filter((k) => before[k] !== after[k]).map((k) => ({ path: k, ...(before[k] !== undefined ? { before: before[k] } : {}), ...(after[k] !== undefined ? { after: after[k] } : {}) }));
}

function diskNotes(intent: VmRestoreIntent, cfg: ArchiveConfig, mode: RestoreMode, vmid: number): Diagnostic[] {
  const address = restoreAddress(intent.persona, vmid);
  const out: Diagnostic[] = [];
  const persistent = (volid: string): boolean => /(?:^|:)vm-999999999-/.test(volid);
  for (const [key, volid] of Object.entries(cfg.excluded)) {
    const kept = mode === 'overwrite' && new RegExp(`(?:^|:)vm-${vmid}-`).test(volid);
    out.push({
      severity: 'warning',
      code: 'LAB_CAPTURE_RESTORE_EXCLUDED',
      address,
      summary: kept
        ? `${key} (${volid}) is not in the archive (backup=0): Proxmox keeps its volume as an unused disk, with today's data`
        : `${key} (${volid}) is not in the archive (backup=0): the restored VM comes without ${key}`,
      ...(persistent(volid) ? { hint: `the persistent volume keeps today's data; \`lab apply --layer l2 --persona ${intent.persona}\` attaches it again` } : {}),
    });
  }
  for (const [key, volid] of Object.entries(cfg.disks)) {
    if (!persistent(volid)) continue;
    out.push({
      severity: 'warning',
      code: 'LAB_CAPTURE_RESTORE_PERSISTENT',
      address,
      summary: `${key} is the persistent volume ${volid}: the restore writes the archived copy to a new volume of VM ${vmid} and leaves ${volid} as it is, detached`,
      hint: 'decide which data to keep before the next `lab apply --layer l2`, which attaches the persistent volume again',
    });
  }
  return out;
}

/**
 * The restore as one change: `replace` with `data-loss` over the persona's VM, or `create` of
 * a recreated VM or a copy; diagnostics for what PVE would refuse (protected or locked VM, a
 * taken VMID, an archive on another node's local storage). Pure.
 */
export function planVmRestore(intent: VmRestoreIntent, obs: VmRestoreObservation, options: { labVersion: string; createdAt?: Date }): Plan {
  const diags: Diagnostic[] = [];
  const address = vmAddress(intent.persona);
  const basis = { [`${RESTORE_BASIS_PREFIX}${intent.persona}`]: obs.vm ? `${obs.vm.vmid}:${obs.vm.digest}` : 'absent' };
  const base = { labVersion: options.labVersion, personas: [intent.persona], layers: ['capture'], basis, ...(options.createdAt ? { createdAt: options.createdAt } : {}) };
  const { archive, archiveConfig: cfg, vm } = obs;
  if (!archive || !cfg) {
    diags.push({
      severity: 'error',
      code: 'LAB_CAPTURE_RESTORE_NO_ARCHIVE',
      address,
      summary: intent.archive ? `no archive ${intent.archive} of persona ${intent.persona} on ${intent.storage}` : `persona ${intent.persona} has no VM archive on ${intent.storage}`,
      hint: obs.archives.length > 0 ? `archives: lab capture backups --persona ${intent.persona}` : `take one first: lab capture vm --persona ${intent.persona}`,
    });
    return createPlan({ ...base, diagnostics: diags });
  }
  const target = chooseTarget(intent, obs, archive, diags);
  if (!target) return createPlan({ ...base, diagnostics: diags });
  const at = restoreAddress(intent.persona, target.vmid);
  const node = target.mode === 'overwrite' ? vm!.node : archive.node;
  if (target.mode === 'overwrite') {
    if (vm!.protection) diags.push({ severity: 'error', code: 'LAB_CAPTURE_RESTORE_PROTECTED', address: at, summary: `VM ${vm!.vmid} has protection on; Proxmox refuses to overwrite it`, hint: `restore beside it (--vmid ${obs.nextid}), or turn protection off first (vm.protection: false, then lab apply --layer l2)` });
    if (vm!.lock) diags.push({ severity: 'error', code: 'LAB_CAPTURE_VM_LOCKED', address: at, summary: `VM ${vm!.vmid} is locked (${vm!.lock})`, hint: `wait for the task holding it; a stale lock is cleared with \`qm unlock ${vm!.vmid}\` on ${vm!.node}` });
    if (archive.node !== vm!.node) diags.push({ severity: 'error', code: 'LAB_CAPTURE_RESTORE_NODE', address: at, summary: `${archive.volid} is on ${archive.node}'s ${archive.storage}, VM ${vm!.vmid} runs on ${vm!.node}`, hint: `restore beside it on ${archive.node} (--vmid ${obs.nextid}), or migrate the VM to ${archive.node} first` });
    if (archive.vmid !== vm!.vmid) diags.push({ severity: 'warning', code: 'LAB_CAPTURE_RESTORE_OTHER_VM', address: at, summary: `${archive.volid} was taken of VM ${archive.vmid}, not of ${vm!.vmid}` });
  } else if (obs.used.has(target.vmid)) {
    diags.push({ severity: 'error', code: 'LAB_CAPTURE_RESTORE_VMID_TAKEN', address: at, summary: `VMID ${target.vmid} is taken by ${obs.used.get(target.vmid) || 'another VM'}`, hint: `pick a free one: --vmid ${obs.nextid}` });
  }
  diags.push(...diskNotes(intent, cfg, target.mode, target.vmid));
  const running = target.mode === 'overwrite' && vm!.status !== 'stopped';
  const copy = target.mode === 'copy' ? copyIdentity(intent.persona, cfg, archive.volid) : undefined;
  const call: RestoreCall = {
    mode: target.mode,
    node,
    vmid: target.vmid,
    archive: archive.volid,
    start: target.mode === 'recreate' || running,
    unique: target.mode === 'copy',
    ...(target.mode === 'recreate' && intent.pool ? { pool: intent.pool } : {}),
    overrides: copy?.overrides ?? {},
    expectedTags: copy?.tags ?? [...cfg.tags].sort(),
    ...(target.mode === 'copy' ? {} : { owner: markerPersona(cfg.config['description']) ?? intent.persona }),
    disks: Object.keys(cfg.disks).sort(),
  };
  const when = new Date(archive.ctime * 1000).toISOString();
  const change: Change = {
    address: at,
    layer: 'capture',
    kind: 'vm.restore',
    action: target.mode === 'overwrite' ? 'replace' : 'create',
    ...(target.mode === 'overwrite' ? { replaceOrder: 'destroy-before-create' as const } : {}),
    impact: target.mode === 'overwrite' ? 'data-loss' : 'none',
    ...(vm && target.mode === 'overwrite' ? { before: { vmid: vm.vmid, node: vm.node, status: vm.status, digest: vm.digest } } : {}),
    after: call,
    diff: target.mode === 'overwrite' ? configDiff(vm!.config, cfg.config) : [{ path: 'vmid', after: target.vmid }, { path: 'archive', after: archive.volid }],
    sensitivePaths: [],
    steps: [
      ...(running ? [{ kind: 'api' as const, description: `shut down VM ${vm!.vmid} first (Proxmox restores only over a stopped VM)` }] : []),
      { kind: 'api', description: `restore ${archive.volid} as VM ${target.vmid} on ${node}${target.mode === 'overwrite' ? ' (force: its current disks are destroyed)' : ''}${call.unique ? ' with new MAC addresses' : ''}` },
      ...(call.start ? [{ kind: 'wait' as const, description: `start VM ${target.vmid}` }] : []),
      { kind: 'other', description: 'verify the restored config (disks, tags, marker)' },
    ],
    reason: `archive of ${when}${archive.lab ? ` (lab ${archive.lab.labVersion}, commit ${archive.lab.commit})` : ''}${target.mode === 'copy' ? '; the copy keeps the persona\'s addresses: it is left stopped' : ''}`,
  };
  return createPlan({ ...base, changes: [change], diagnostics: diags });
}
