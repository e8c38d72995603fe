import { createPlan, worstImpact, type Change, type Diagnostic, type FieldDiff, type Impact, type Plan, type PlanMode } from '@lab/core';
import { parseProps, parsePveSize, formatBytes } from './_props.js';
import { sameValue } from './compare.js';
import type { DesiredDisk, DesiredVm } from './desired.js';
import { ABSENT, basisKey, describeVm, isAdopted, vmAddress } from './identity.js';
import { diskImpact, hotplugFeatures, keyImpact } from './impact.js';
import type { Observation, ObservedVm } from './observe.js';
import { committedMemory, findTemplates, pickNode, type TemplateRef } from './placement.js';

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
  readonly start: boolean;
  /** Reboot after writing (changes pending on a running VM, with --allow-reboot). */
  readonly reboot: boolean;
  /** Destroy: also delete persistent data volumes. */
  readonly destroyData?: boolean;
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

/** Drive slots of the desired disks on an existing VM (the root disk may sit elsewhere than scsi0). */
export function slotted(disks: readonly DesiredDisk[], config: Readonly<Record<string, string>>): DesiredDisk[] {
  const root = bootDisk(config);
  return disks.map((d) => (d.name === 'root' ? { ...d, slot: root } : d));
}

function diag(severity: Diagnostic['severity'], code: string, persona: string, summary: string, hint?: string): Diagnostic {
  return { severity, code, summary, address: vmAddress(persona), ...(hint ? { hint } : {}) };
}

const show = (key: string, v: string | undefined): unknown => (v === undefined ? undefined : key === 'memory' || key === 'balloon' ? `${v}MiB` : key === 'sshkeys' ? decodeURIComponent(v).split('\n').length + ' key(s)' : v);

function createChange(d: DesiredVm, node: string, template: TemplateRef, reserved: readonly number[]): Change {
  const diff: FieldDiff[] = [
    { path: 'node', after: node },
    { path: 'template', after: `${d.image.name}@${d.image.version} (${template.vmid} on ${template.node})` },
    ...Object.entries(d.config).map(([k, v]) => ({ path: k, after: show(k, v) })),
    ...d.disks.map((x) => ({ path: `disk.${x.name}`, after: `${formatBytes(x.size)} on ${x.storage}${x.persistent ? ' (persistent)' : ''}` })),
  ];
  const after: VmAfter = {
    node,
    ...(d.vmid === undefined ? (reserved.length > 0 ? { avoidVmids: [...reserved].sort((a, b) => a - b) } : {}) : { vmid: d.vmid }),
    template,
    pool: d.pool,
    config: d.config,
    disks: d.disks,
    snippetStorage: d.snippetStorage,
    ...(d.address ? { address: d.address } : {}),
    image: d.image,
    set: Object.keys(d.config),
    grow: {},
    add: d.disks.filter((x) => x.name !== 'root').map((x) => x.slot),
    start: true,
    reboot: false,
  };
  return { address: vmAddress(d.persona), layer: 'l2', kind: 'vm', action: 'create', impact: 'none', after, diff, sensitivePaths: [], steps: [{ kind: 'api', description: `full clone of template ${template.vmid}, configure, cloud-init with a pinned host key, start, wait for the guest agent` }] };
}

function beforeOf(o: ObservedVm): VmBefore {
  return { vmid: o.vmid, node: o.node, status: o.status, config: o.config, pending: o.pending };
}

/** Keys lab sets only on VMs it cloned itself; an adopted VM keeps its own (adr/0089). */
const BASELINE = ['agent', 'ciuser', 'ciupgrade', 'sshkeys', 'cicustom', 'hotplug', 'numa'];

function updateChange(full: DesiredVm, o: ObservedVm, opts: PlanVmsOptions, diags: Diagnostic[]): Change {
  const adopted = isAdopted(o.config['description']);
  const d: DesiredVm = adopted
    ? { ...full, config: { ...Object.fromEntries(Object.entries(full.config).filter(([k]) => !BASELINE.includes(k))), description: describeVm(full.persona, full.descriptionText, true) } }
    : full;
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
  const owned = new Set([...Object.keys(d.config), ...d.disks.map((x) => x.slot)]);
  const stillPending = running ? o.pending.filter((k) => owned.has(k) && !set.includes(k)) : [];
  for (const key of stillPending) diff.push({ path: key, before: show(key, o.current[key]), after: show(key, o.config[key]), impact: 'reboot', note: 'pending until reboot' });
  const disks = slotted(d.disks, o.config);
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
  if (o.status !== 'running') diff.push({ path: 'status', before: o.status, after: 'running', impact: 'none' });
  const impacts = diff.filter((f) => f.note !== 'shrink refused').map((f) => f.impact ?? 'none');
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

function deleteChange(d: DesiredVm, o: ObservedVm, opts: PlanVmsOptions, diags: Diagnostic[]): Change {
  if (o.config['protection'] === '1') {
    diags.push(diag('error', 'LAB_L2_PROTECTED', d.persona, `VM ${o.vmid} (${d.persona}) has protection=1; destroy is refused`, `set vm.protection: false and run \`lab apply --layer l2 --persona ${d.persona}\` first`));
  }
  const disks = slotted(d.disks, o.config);
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
      continue;
    }
    if (o) {
      changes.push(updateChange(d, o, opts, diags));
      continue;
    }
    if (foreign) {
      diags.push(diag('error', 'LAB_L2_FOREIGN_VM', d.persona, `VM ${foreign.vmid} on ${foreign.node} matches persona ${d.persona} by name, tag or vmid but was not made by lab`, `adopt it: lab adopt --vmid ${foreign.vmid} --persona ${d.persona}`));
      continue;
    }
    const templates = findTemplates(obs.vms, d.image.name, d.image.version);
    const onNodes = [...new Set(templates.map((t) => t.node))];
    const node = d.node === 'auto' ? pickNode(obs.nodes, committed, onNodes, promised) : onNodes.includes(d.node) ? d.node : undefined;
    const template = templates.find((t) => t.node === node);
    if (!node || !template) {
      diags.push(diag('error', 'LAB_L2_NO_TEMPLATE', d.persona, `no template of ${d.image.name}@${d.image.version}${d.node === 'auto' ? ' on an online node' : ` on node ${d.node}`} for ${d.persona}`, 'build it: lab apply --layer l1'));
      continue;
    }
    const mem = Number(d.config['memory']) * 2 ** 20;
    promised.set(node, (promised.get(node) ?? 0) + mem);
    changes.push(createChange(d, node, template, opts.reservedVmids ?? []));
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
