import { createPlan, worstImpact, type Change, type Diagnostic, type FieldDiff, type Impact, type Plan, type PlanMode } from '@lab/core';
import { parseProps, parsePveSize, formatBytes } from './_props.js';
import { sameValue } from './compare.js';
import type { DesiredDisk, DesiredVm } from './desired.js';
import { ABSENT, basisKey, describeVm, isAdopted, isVolumeOf, parsePersistentVolume, vmAddress } from './identity.js';
import { diskImpact, hotplugFeatures, keyImpact } from './impact.js';
import type { DataVolume, Observation, ObservedVm } from './observe.js';
import { committedMemory, findTemplates, imageTag, pickNode, type TemplateRef } from './placement.js';

/** What apply needs for one VM; it is the `after` of the change, so a saved plan is complete. */
export interface VmAfter {
  readonly node: string;
  readonly vmid?: number;
  /** Without a declared vmid: ids `cluster/nextid` may offer but other personas declare. */
  readonly avoidVmids?: readonly number[];
  readonly template?: TemplateRef;
  readonly pool: string;
  readonly config: Readonly<Record<string, string>>;
  readonly disks: readonly DesiredDisk[];
  readonly snippetStorage: string;
  readonly address?: string;
  readonly image: { readonly name: string; readonly version: string };
  /** Keys to write (update); all owned keys on create. */
  readonly set: readonly string[];
  /** Disks to grow (`slot` → bytes) and to add. */
  readonly grow: Readonly<Record<string, number>>;
  readonly add: readonly string[];
  /** Create: existing persistent volumes to attach (`slot` → volid), found on the cluster. */
  readonly attach?: Readonly<Record<string, string>>;
  /** Update: disks no longer declared; detached (data kept) unless `destroy`. */
  readonly remove?: readonly RemovedDisk[];
  readonly start: boolean;
  /** Reboot after writing (changes pending on a running VM, with --allow-reboot). */
  readonly reboot: boolean;
  /** Destroy: also delete persistent data volumes. */
  readonly destroyData?: boolean;
  /** Destroy --destroy-data of a persona whose VM is already gone: its data volumes to free. */
  readonly freeVolumes?: readonly { readonly node: string; readonly volid: string }[];
}

export interface RemovedDisk {
  readonly slot: string;
  readonly volid: string;
  /** A persistent volume (owned by HOLDER_VMID): only an explicit delete frees it. */
  readonly persistent: boolean;
  /** --destroy-data: free the volume; otherwise it is detached and kept. */
  readonly destroy: boolean;
}

export interface VmBefore {
  readonly vmid: number;
  readonly node: string;
  readonly status: string;
  readonly config: Readonly<Record<string, string>>;
  readonly pending: readonly string[];
}

export interface PlanVmsOptions {
  readonly mode: PlanMode;
  readonly labVersion: string;
  readonly allowReboot: boolean;
  readonly destroyData: boolean;
  readonly createdAt?: Date;
  /** VMIDs other personas declare: a persona without `vm.vmid` must not take one of them. */
  readonly reservedVmids?: readonly number[];
}

/** The drive key of the boot disk: first disk in `boot: order=…`, else `scsi0`. */
export function bootDisk(config: Readonly<Record<string, string>>): string {
  const order = parseProps(config['boot']).get('order') ?? '';
  return order.split(';').find((d) => /^(scsi|virtio|sata|ide)\d+$/.test(d) && !/media=cdrom/.test(config[d] ?? '')) ?? 'scsi0';
}

const DRIVE = /^(scsi|virtio|sata|ide)\d+$/;
const volidOf = (value: string | undefined): string => (value ?? '').split(',')[0] ?? '';

/** Data drives of a config: drive keys that are neither a CD-ROM nor the cloud-init drive. */
function dataDrives(config: Readonly<Record<string, string>>): string[] {
  return Object.keys(config).filter((k) => DRIVE.test(k) && !/media=cdrom/.test(config[k] ?? '') && !/cloudinit/.test(volidOf(config[k])));
}

/**
 * Drive slots of the desired disks on an existing VM: the root disk where `boot` says, a
 * persistent disk where its volume is attached (so removing a disk above it does not shift it),
 * the others by declared order on the slots left.
 */
export function slotted(disks: readonly DesiredDisk[], config: Readonly<Record<string, string>>, persona?: string): DesiredDisk[] {
  const root = bootDisk(config);
  const taken = new Set<string>([root]);
  const bound = new Map<string, string>();
  if (persona !== undefined) {
    for (const d of disks) {
      if (!d.persistent) continue;
      const slot = dataDrives(config).find((k) => isVolumeOf(volidOf(config[k]), persona, d.name));
      if (slot) {
        bound.set(d.name, slot);
        taken.add(slot);
      }
    }
  }
  return disks.map((d) => {
    if (d.name === 'root') return { ...d, slot: root };
    const slot = bound.get(d.name);
    if (slot) return { ...d, slot };
    let s = d.slot;
    for (let n = Number(/\d+$/.exec(s)?.[0] ?? 1); taken.has(s); n++) s = `scsi${n}`;
    taken.add(s);
    return { ...d, slot: s };
  });
}

/** Where the persistent volume of (persona, disk) is: the current name first, else the legacy one. */
function volumesOf(obs: Observation, persona: string, disk: DesiredDisk): DataVolume[] {
  const on = obs.dataVolumes.filter((v) => v.storage === disk.storage);
  const current = on.filter((v) => isVolumeOf(v.volid, persona, disk.name) === 'current');
  return current.length > 0 ? current : on.filter((v) => isVolumeOf(v.volid, persona, disk.name) === 'legacy');
}

function diag(severity: Diagnostic['severity'], code: string, persona: string, summary: string, hint?: string): Diagnostic {
  return { severity, code, summary, address: vmAddress(persona), ...(hint ? { hint } : {}) };
}

const show = (key: string, v: string | undefined): unknown => (v === undefined ? undefined : key === 'memory' || key === 'balloon' ? `${v}MiB` : key === 'sshkeys' ? decodeURIComponent(v).split('\n').length + ' key(s)' : v);

function createChange(d: DesiredVm, node: string, template: TemplateRef, reserved: readonly number[], attach: Readonly<Record<string, DataVolume>>): Change {
  // The clone source is recorded on the VM (adr/0164): `lab image list` counts users by it and prune refuses it.
  const tags = [...new Set([...(d.config['tags'] ?? '').split(';').filter(Boolean), imageTag(d.image.name, d.image.version)])].sort().join(';');
  const config = { ...d.config, tags };
  const diskNote = (x: DesiredDisk): string => {
    if (!x.persistent) return '';
    const v = attach[x.slot];
    return v ? ` (persistent: reattach ${v.volid}, ${formatBytes(v.size)}, kept data)` : ' (persistent: new empty volume)';
  };
  const diff: FieldDiff[] = [
    { path: 'node', after: node },
    { path: 'template', after: `${d.image.name}@${d.image.version} (${template.vmid} on ${template.node})` },
    ...Object.entries(config).map(([k, v]) => ({ path: k, after: show(k, v) })),
    ...d.disks.map((x) => ({ path: `disk.${x.name}`, after: `${formatBytes(x.size)} on ${x.storage}${diskNote(x)}` })),
  ];
  const after: VmAfter = {
    node,
    ...(d.vmid === undefined ? (reserved.length > 0 ? { avoidVmids: [...reserved].sort((a, b) => a - b) } : {}) : { vmid: d.vmid }),
    template,
    pool: d.pool,
    config,
    disks: d.disks,
    snippetStorage: d.snippetStorage,
    ...(d.address ? { address: d.address } : {}),
    image: d.image,
    set: Object.keys(config),
    grow: {},
    add: d.disks.filter((x) => x.name !== 'root').map((x) => x.slot),
    ...(Object.keys(attach).length > 0 ? { attach: Object.fromEntries(Object.entries(attach).map(([slot, v]) => [slot, v.volid])) } : {}),
    start: true,
    reboot: false,
  };
  return { address: vmAddress(d.persona), layer: 'l2', kind: 'vm', action: 'create', impact: 'none', after, diff, sensitivePaths: [], steps: [{ kind: 'api', description: `full clone of template ${template.vmid}, configure, cloud-init with a pinned host key, start, wait for the guest agent` }] };
}

/**
 * Where a new VM may go given its persistent data (adr/0163): the node holding its data volumes
 * (a volume on a storage every node lists is shared and pins nothing). Returns the volumes to
 * attach, the node they pin (if any), or an error diagnostic when the truth cannot be kept.
 */
function placeData(d: DesiredVm, obs: Observation, diags: Diagnostic[]): { attach: Record<string, DataVolume>; pin?: string; refused: boolean } {
  const attach: Record<string, DataVolume> = {};
  const pins = new Set<string>();
  const online = obs.nodes.filter((n) => n.online).map((n) => n.node);
  let refused = false;
  for (const disk of d.disks.filter((x) => x.persistent)) {
    const found = volumesOf(obs, d.persona, disk);
    const nodes = [...new Set(found.map((v) => v.node))];
    const shared = nodes.length > 1 && online.every((n) => nodes.includes(n));
    if (found.length === 0) {
      if (obs.unseenNodes.length > 0) {
        refused = true;
        diags.push(diag('error', 'LAB_L2_DATA_UNSEEN', d.persona, `cannot tell whether data disk ${disk.name} of ${d.persona} already exists: node(s) ${obs.unseenNodes.join(', ')} did not answer, and creating the VM now would give it an empty disk`, `bring ${obs.unseenNodes.join(', ')} back online, then: lab plan --layer l2 --persona ${d.persona}`));
      }
      continue;
    }
    if (!shared && nodes.length > 1) {
      refused = true;
      diags.push(diag('error', 'LAB_L2_DATA_AMBIGUOUS', d.persona, `data disk ${disk.name} of ${d.persona} exists on several nodes (${found.map((v) => `${v.volid} on ${v.node}`).join(', ')}); lab will not guess which holds the data`, `keep one: pvesm free <volid> on the node with the stale copy, then: lab plan --layer l2 --persona ${d.persona}`));
      continue;
    }
    const here = shared ? (found.find((v) => v.node === d.node) ?? found[0]!) : found[0]!;
    attach[disk.slot] = here;
    if (!shared) pins.add(here.node);
  }
  if (pins.size > 1) {
    refused = true;
    diags.push(diag('error', 'LAB_L2_DATA_SPLIT', d.persona, `the data disks of ${d.persona} are on different nodes (${[...pins].join(', ')}); one VM cannot attach them all`, `move them to one node (qm disk move, or copy the volumes), then: lab plan --layer l2 --persona ${d.persona}`));
  }
  const pin = pins.size === 1 ? [...pins][0] : undefined;
  if (pin && d.node !== 'auto' && d.node !== pin) {
    refused = true;
    diags.push(diag('error', 'LAB_L2_DATA_ELSEWHERE', d.persona, `${d.persona} is declared on node ${d.node}, but its persistent data (${Object.values(attach).map((v) => v.volid).join(', ')}) is on ${pin}; creating it on ${d.node} would start with an empty disk and leave the data behind`, `set vm.node: ${pin} (or auto) in personas/${d.persona}/persona.yaml, or move the volume to ${d.node} first`));
  }
  return { attach, ...(pin ? { pin } : {}), refused };
}

function beforeOf(o: ObservedVm): VmBefore {
  return { vmid: o.vmid, node: o.node, status: o.status, config: o.config, pending: o.pending };
}

/** Keys lab sets only on VMs it cloned itself; an adopted VM keeps its own (adr/0089). */
const BASELINE = ['agent', 'ciuser', 'ciupgrade', 'sshkeys', 'cicustom', 'hotplug', 'numa'];

/** Keep the clone-source tag (`lab-image-…`) the VM carries: it records where the VM came from, not what the persona wants now. */
function keepSourceTag(config: Readonly<Record<string, string>>, observed: string | undefined): Readonly<Record<string, string>> {
  const source = (observed ?? '').split(/[;,\s]+/).filter((t) => t.startsWith('lab-image-'));
  if (source.length === 0 || config['tags'] === undefined) return config;
  return { ...config, tags: [...new Set([...config['tags'].split(';').filter(Boolean), ...source])].sort().join(';') };
}

function updateChange(full: DesiredVm, o: ObservedVm, opts: PlanVmsOptions, diags: Diagnostic[], obs: Observation): Change {
  const adopted = isAdopted(o.config['description']);
  const owned: DesiredVm = adopted
    ? { ...full, config: { ...Object.fromEntries(Object.entries(full.config).filter(([k]) => !BASELINE.includes(k))), description: describeVm(full.persona, full.descriptionText, true) } }
    : full;
  const d: DesiredVm = { ...owned, config: keepSourceTag(owned.config, o.config['tags']) };
  const running = o.status === 'running';
  const hotplug = hotplugFeatures(o.current['hotplug']);
  const diff: FieldDiff[] = [];
  const set: string[] = [];
  for (const [key, want] of Object.entries(d.config)) {
    if (sameValue(key, want, o.config[key])) continue;
    set.push(key);
    const { impact, note } = keyImpact(key, o.current[key], want, running, hotplug);
    diff.push({ path: key, before: show(key, o.config[key]), after: show(key, want), impact, ...(note ? { note } : {}) });
  }
  // Values an earlier apply left pending on the running VM: the change is not done until a reboot.
  const disks = slotted(d.disks, o.config, d.persona);
  const ownedKeys = new Set([...Object.keys(d.config), ...disks.map((x) => x.slot)]);
  const stillPending = running ? o.pending.filter((k) => ownedKeys.has(k) && !set.includes(k)) : [];
  for (const key of stillPending) diff.push({ path: key, before: show(key, o.current[key]), after: show(key, o.config[key]), impact: 'reboot', note: 'pending until reboot' });
  missingData(d.persona, o, disks, obs, diff, diags);
  const grow: Record<string, number> = {};
  const add: string[] = [];
  for (const disk of disks) {
    const have = o.config[disk.slot];
    if (have === undefined) {
      add.push(disk.slot);
      const { impact, note } = diskImpact('add', running, hotplug);
      diff.push({ path: `disk.${disk.name}`, after: `${formatBytes(disk.size)} on ${disk.storage}`, impact, ...(note ? { note } : {}) });
      continue;
    }
    const size = parsePveSize(parseProps(have).get('size')) ?? 0;
    if (disk.size > size) {
      grow[disk.slot] = disk.size;
      const { impact, note } = diskImpact('grow', running, hotplug);
      diff.push({ path: `disk.${disk.name}.size`, before: formatBytes(size), after: formatBytes(disk.size), impact, ...(note ? { note } : {}) });
    } else if (disk.size < size) {
      diff.push({ path: `disk.${disk.name}.size`, before: formatBytes(size), after: formatBytes(disk.size), impact: 'none', note: 'shrink refused' });
      diags.push(diag('error', 'LAB_L2_DISK_SHRINK', d.persona, `disk ${disk.name} of ${d.persona} is ${formatBytes(size)}; shrinking to ${formatBytes(disk.size)} is refused (Proxmox cannot shrink disks)`, `set vm.disks[${disk.name}].size to at least ${formatBytes(size)}`));
    }
  }
  const remove = removedDisks(d.persona, o, disks, opts, running, hotplug, diff);
  if (o.status !== 'running') diff.push({ path: 'status', before: o.status, after: 'running', impact: 'none' });
  const impacts = diff.filter((f) => f.note !== 'shrink refused' && f.note !== 'volume missing').map((f) => f.impact ?? 'none');
  const impact: Impact = worstImpact(impacts);
  const needsReboot = running && impact === 'reboot';
  if (needsReboot && !opts.allowReboot) {
    diags.push(diag('warning', 'LAB_L2_REBOOT_PENDING', d.persona, `${d.persona}: ${diff.filter((f) => f.impact === 'reboot').map((f) => f.path).join(', ')} need a reboot; apply writes them and leaves them pending`, `lab apply --layer l2 --persona ${d.persona} --allow-reboot`));
  }
  const changed = diff.length > 0;
  const after: VmAfter = {
    node: o.node,
    vmid: o.vmid,
    pool: d.pool,
    config: d.config,
    disks,
    snippetStorage: d.snippetStorage,
    ...(d.address ? { address: d.address } : {}),
    image: d.image,
    set,
    grow,
    add,
    ...(remove.length > 0 ? { remove } : {}),
    start: o.status !== 'running',
    reboot: needsReboot && opts.allowReboot,
  };
  return {
    address: vmAddress(d.persona),
    layer: 'l2',
    kind: 'vm',
    action: changed ? 'update' : 'noop',
    impact: changed ? impact : 'none',
    before: beforeOf(o),
    after,
    diff,
    sensitivePaths: [],
    steps: changed ? [{ kind: 'api', description: `update VM ${o.vmid} on ${o.node}${after.reboot ? ', then reboot' : ''}` }] : [],
    ...(changed ? {} : { reason: 'matches the persona' }),
  };
}

/**
 * A persistent disk the VM has attached whose volume is gone from its storage (freed by hand, or
 * by another persona's destroy before adr/0163): the plan must say so, not "No changes".
 */
function missingData(persona: string, o: ObservedVm, disks: readonly DesiredDisk[], obs: Observation, diff: FieldDiff[], diags: Diagnostic[]): void {
  for (const disk of disks) {
    if (!disk.persistent || o.config[disk.slot] === undefined) continue;
    const volid = volidOf(o.config[disk.slot]);
    const storage = volid.split(':')[0];
    const seen = obs.dataVolumes.some((v) => v.node === o.node && v.volid === volid);
    // Only judge lab's own volume on a storage that was listed on the VM's node.
    if (seen || !obs.dataStorages.includes(storage ?? '') || obs.unseenNodes.includes(o.node) || !isVolumeOf(volid, persona, disk.name)) continue;
    diff.push({ path: `disk.${disk.name}`, before: volid, after: 'missing', impact: 'data-loss', note: 'volume missing' });
    diags.push(diag('error', 'LAB_L2_DATA_DISK_MISSING', persona, `data disk ${disk.name} of ${persona} (VM ${o.vmid}, ${disk.slot}) points at ${volid}, which no longer exists on ${o.node}: its data is gone`, `restore the volume from a backup (docs/capture.md), or detach it to start empty: qm set ${o.vmid} --delete ${disk.slot}`));
  }
}

/** Drives the VM has that the persona no longer declares: detached (data kept) or, with --destroy-data, freed. */
function removedDisks(persona: string, o: ObservedVm, disks: readonly DesiredDisk[], opts: PlanVmsOptions, running: boolean, hotplug: Set<string>, diff: FieldDiff[]): RemovedDisk[] {
  const claimed = new Set(disks.map((x) => x.slot));
  const out: RemovedDisk[] = [];
  for (const slot of dataDrives(o.config)) {
    if (claimed.has(slot)) continue;
    const volid = volidOf(o.config[slot]);
    const named = parsePersistentVolume(volid);
    const persistent = /(?:^|:)vm-999999999-/.test(volid);
    const label = named?.persona === persona ? named.disk : slot;
    const destroy = opts.destroyData;
    const { impact: plug, note: plugNote } = diskImpact('add', running, hotplug);
    out.push({ slot, volid, persistent, destroy });
    diff.push({
      path: `disk.${label}`,
      before: volid,
      after: destroy ? undefined : persistent ? 'detached (volume kept)' : 'detached (kept as unused disk)',
      impact: destroy ? 'data-loss' : plug,
      note: destroy ? 'no longer declared: deleted (--destroy-data)' : `no longer declared: detached, data kept${plugNote ? `; ${plugNote}` : ''}`,
    });
  }
  return out;
}

/** `destroy --destroy-data` when the VM is already gone: its data volumes are still there to free. */
function orphanedData(d: DesiredVm, obs: Observation): Change | undefined {
  const vols = d.disks.filter((x) => x.persistent).flatMap((x) => volumesOf(obs, d.persona, x).map((v) => ({ disk: x.name, node: v.node, volid: v.volid, size: v.size })));
  if (vols.length === 0) return undefined;
  const node = vols[0]!.node;
  const after: VmAfter = { node, pool: d.pool, config: d.config, disks: d.disks, snippetStorage: d.snippetStorage, ...(d.address ? { address: d.address } : {}), image: d.image, set: [], grow: {}, add: [], start: false, reboot: false, destroyData: true, freeVolumes: vols.map((v) => ({ node: v.node, volid: v.volid })) };
  return {
    address: vmAddress(d.persona),
    layer: 'l2',
    kind: 'vm',
    action: 'delete',
    impact: 'data-loss',
    after,
    diff: vols.map((v) => ({ path: `disk.${v.disk}`, before: `${v.volid} on ${v.node} (${formatBytes(v.size)})`, impact: 'data-loss' as Impact, note: 'the VM is gone; its data volume is deleted (--destroy-data)' })),
    sensitivePaths: [],
    steps: [{ kind: 'api', description: `delete ${vols.length} data volume(s) of ${d.persona}` }],
  };
}

function deleteChange(d: DesiredVm, o: ObservedVm, opts: PlanVmsOptions, diags: Diagnostic[]): Change {
  if (o.config['protection'] === '1') {
    diags.push(diag('error', 'LAB_L2_PROTECTED', d.persona, `VM ${o.vmid} (${d.persona}) has protection=1; destroy is refused`, `set vm.protection: false and run \`lab apply --layer l2 --persona ${d.persona}\` first`));
  }
  const disks = slotted(d.disks, o.config, d.persona);
  const diff: FieldDiff[] = [{ path: 'vm', before: `${o.vmid} on ${o.node}`, impact: 'recreate' }];
  let loses = false;
  for (const disk of disks) {
    if (o.config[disk.slot] === undefined) continue;
    const kept = disk.persistent && !opts.destroyData;
    if (disk.name !== 'root' && !kept) loses = true;
    diff.push({ path: `disk.${disk.name}`, before: o.config[disk.slot], impact: disk.name === 'root' ? 'recreate' : kept ? 'none' : 'data-loss', note: kept ? 'detached and retained' : 'deleted' });
  }
  const after: VmAfter = { node: o.node, vmid: o.vmid, pool: d.pool, config: d.config, disks, snippetStorage: d.snippetStorage, ...(d.address ? { address: d.address } : {}), image: d.image, set: [], grow: {}, add: [], start: false, reboot: false, destroyData: opts.destroyData };
  return { address: vmAddress(d.persona), layer: 'l2', kind: 'vm', action: 'delete', impact: loses ? 'data-loss' : 'recreate', before: beforeOf(o), after, diff, sensitivePaths: [], steps: [{ kind: 'api', description: `stop and destroy VM ${o.vmid}` }] };
}

/**
 * The pure half of L2: desired VMs + what the cluster shows → a plan. Creates pick a template
 * and a node; updates list each owned key that differs with its impact; destroys name what is
 * kept and what is lost. The basis records each VM's config digest (or `absent`).
 */
export function planVms(desired: readonly DesiredVm[], obs: Observation, opts: PlanVmsOptions): Plan {
  const changes: Change[] = [];
  const diags: Diagnostic[] = [];
  const basis: Record<string, string> = {};
  const committed = committedMemory(obs.vms);
  const promised = new Map<string, number>();
  for (const d of [...desired].sort((a, b) => a.persona.localeCompare(b.persona))) {
    const o = obs.managed.get(d.persona);
    basis[basisKey(d.persona)] = o?.digest ?? ABSENT;
    const foreign = obs.foreign.get(d.persona);
    if (opts.mode === 'destroy') {
      if (o) changes.push(deleteChange(d, o, opts, diags));
      else if (opts.destroyData) {
        const orphaned = orphanedData(d, obs);
        if (orphaned) changes.push(orphaned);
      }
      continue;
    }
    if (o) {
      changes.push(updateChange(d, o, opts, diags, obs));
      continue;
    }
    if (foreign) {
      diags.push(diag('error', 'LAB_L2_FOREIGN_VM', d.persona, `VM ${foreign.vmid} on ${foreign.node} matches persona ${d.persona} by name, tag or vmid but was not made by lab`, `adopt it: lab adopt --vmid ${foreign.vmid} --persona ${d.persona}`));
      continue;
    }
    const data = placeData(d, obs, diags);
    if (data.refused) continue;
    const templates = findTemplates(obs.vms, d.image.name, d.image.version);
    const onNodes = [...new Set(templates.map((t) => t.node))];
    const wanted = data.pin ?? d.node;
    const node = wanted === 'auto' ? pickNode(obs.nodes, committed, onNodes, promised) : onNodes.includes(wanted) ? wanted : undefined;
    const template = templates.find((t) => t.node === node);
    if (!node || !template) {
      const where = data.pin ? ` on node ${data.pin}, which holds its persistent data` : d.node === 'auto' ? ' on an online node' : ` on node ${d.node}`;
      diags.push(diag('error', 'LAB_L2_NO_TEMPLATE', d.persona, `no template of ${d.image.name}@${d.image.version}${where} for ${d.persona}`, 'build it: lab apply --layer l1'));
      continue;
    }
    const mem = Number(d.config['memory']) * 2 ** 20;
    promised.set(node, (promised.get(node) ?? 0) + mem);
    changes.push(createChange(d, node, template, opts.reservedVmids ?? [], data.attach));
  }
  return createPlan({
    labVersion: opts.labVersion,
    personas: desired.map((d) => d.persona),
    layers: ['l2'],
    mode: opts.mode,
    ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    basis,
    changes,
    diagnostics: diags,
  });
}
