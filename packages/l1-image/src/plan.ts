import { createHash } from 'node:crypto';
import { createPlan, type Action, type Change, type Diagnostic, type FieldDiff, type Impact, type Plan, type PlanMode, type StepSummary } from '@lab/core';
import { assessTemplate, buildVmsOf, usersOf, type TemplateState } from './assess.js';
import { checksumText, type DesiredTemplate } from './intent.js';
import { findManifest, manifestFile, type ImageCatalog } from './manifest.js';
import { imageAddress, TEMPLATE_VMID_RANGE } from './naming.js';
import { isBuildVm, type ImageObservation } from './observe.js';

export const L1_BASIS_KEY = '_site/l1/templates';

/** What apply does on one node: build from scratch, destroy and build again, or only record the manifest. */
export interface NodeWork {
  readonly node: string;
  readonly op: 'build' | 'rebuild' | 'record';
  readonly vmid: number;
  /** The import file is already on the node (download-url then only verifies its checksum). */
  readonly importPresent: boolean;
  readonly reason: string;
}

/** `after` of an L1 change: the desired templates and the work that gets there. */
export interface ImageChangeAfter {
  readonly image: string;
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  readonly templates: readonly { readonly node: string; readonly vmid: number; readonly name: string; readonly diskStorage: string }[];
  readonly work: readonly NodeWork[];
  /** A baked version: its base and profile hash. */
  readonly bake?: { readonly base: { readonly image: string; readonly version: string }; readonly profileHash: string };
}

export interface PlanImagesOptions {
  readonly mode?: PlanMode;
  readonly labVersion: string;
  readonly createdAt?: Date;
  /** Diagnostics found while deriving the desired templates. */
  readonly diagnostics?: readonly Diagnostic[];
}

/** The fingerprint apply compares before acting: L1's VMs, files and the VMIDs of the template range. */
export function basisOf(obs: ImageObservation): Record<string, string> {
  const vms = obs.vms.filter(isBuildVm).map((v) => [v.node, v.vmid, v.template, v.lock ?? '', v.provenance]);
  const range = obs.usedVmids.filter((id) => id >= TEMPLATE_VMID_RANGE.min && id <= TEMPLATE_VMID_RANGE.max);
  const text = JSON.stringify({ vms, range, files: obs.importVolumes });
  return { [L1_BASIS_KEY]: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}

function groupBy(templates: readonly DesiredTemplate[]): DesiredTemplate[][] {
  const groups = new Map<string, DesiredTemplate[]>();
  for (const t of templates) {
    const key = `${t.image}@${t.version}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()];
}

function vmidAllocator(obs: ImageObservation): () => number | undefined {
  const used = new Set(obs.usedVmids);
  let next: number = TEMPLATE_VMID_RANGE.min;
  return () => {
    while (next <= TEMPLATE_VMID_RANGE.max && used.has(next)) next++;
    if (next > TEMPLATE_VMID_RANGE.max) return undefined;
    used.add(next);
    return next;
  };
}

function bakeSteps(d: DesiredTemplate, w: NodeWork, manifest: string): StepSummary[] {
  const b = d.bake!;
  const net = b.profile.network;
  const os = b.profile.os;
  const counts = [`${os.packages.length} package(s)`, `${os.files.length} file(s)`, `${os.systemd.services.length} service(s)`, `${os.users.length} user(s)`].join(', ');
  return [
    ...(w.op === 'rebuild' ? [{ kind: 'api' as const, description: `destroy VM ${w.vmid} on ${d.node} (${w.reason})` }] : []),
    { kind: 'api', description: `full clone of ${b.base.image}@${b.base.version}'s template on ${d.node} to VM ${w.vmid} ${d.name} on ${d.diskStorage}` },
    { kind: 'api', description: `boot it once at ${net.addresses[d.node] ?? net.address} on ${net.bridge}${net.vlan !== undefined ? ` VLAN ${net.vlan}` : ''} (pinned host key, lab's SSH key)` },
    { kind: 'shell', description: `converge the profile with L3 over SSH (${counts}${b.profile.files.length > 0 ? `; mixins ${b.profile.files.map((f) => f.replace(/^personas\//, '')).join(', ')}` : ''}), then re-verify` },
    { kind: 'shell', description: 'record dpkg-query -W; clean for templating: cloud-init, machine-id, SSH host keys, logs, apt lists' },
    { kind: 'wait', description: `shut it down, drop its boot settings, convert VM ${w.vmid} to a template` },
    { kind: 'other', description: `write ${manifest}` },
  ];
}

/** Why a baked version is new: its base or its profile moved since the newest baked version of the image. */
function bakeWhy(d: DesiredTemplate, catalog: ImageCatalog): FieldDiff[] {
  const b = d.bake!;
  const previous = catalog.manifests
    .filter((m) => m.image === d.image && m.version !== d.version && m.bake !== undefined)
    .sort((x, y) => (x.templates[0]?.createdAt ?? '').localeCompare(y.templates[0]?.createdAt ?? ''))
    .at(-1);
  const base = `${b.base.image}@${b.base.version}`;
  const hash = b.profile.hash.slice(0, 12);
  if (!previous?.bake) return [{ path: 'base', after: base }, { path: 'profile', after: hash, note: 'first bake of this image' }];
  const before = `${previous.bake.base.image}@${previous.bake.base.version}`;
  const out: FieldDiff[] = [];
  if (before !== base) out.push({ path: 'base', before, after: base, note: 'new base' });
  else out.push({ path: 'base', after: base });
  if (previous.bake.profileHash !== b.profile.hash) out.push({ path: 'profile', before: previous.bake.profileHash.slice(0, 12), after: hash, note: `new profile hash (was ${d.image}@${previous.version})` });
  return out;
}

function steps(d: DesiredTemplate, w: NodeWork, manifest: string): StepSummary[] {
  if (w.op === 'record') return [{ kind: 'other', description: `record template ${w.vmid} on ${d.node} in ${manifest}` }];
  if (d.bake) return bakeSteps(d, w, manifest);
  return [
    ...(w.op === 'rebuild' ? [{ kind: 'api' as const, description: `destroy VM ${w.vmid} on ${d.node} (${w.reason})` }] : []),
    w.importPresent
      ? { kind: 'api', description: `verify ${d.importVolid} on ${d.node} against its ${d.checksum.algorithm}` }
      : { kind: 'api', description: `download ${d.url} to ${d.importVolid} on ${d.node} (${d.checksum.algorithm} verified)` },
    {
      kind: 'api',
      description: `create VM ${w.vmid} ${d.name} on ${d.node}: scsi0 import-from ${d.importVolid} on ${d.diskStorage}, ide2 cloud-init${d.serialConsole ? ', serial0' : ''}${d.guestAgent ? ', agent' : ''}`,
    },
    { kind: 'wait', description: `convert VM ${w.vmid} to a template` },
    { kind: 'other', description: `write ${manifest}` },
  ];
}

interface GroupResult {
  readonly change: Change;
  readonly diagnostics: readonly Diagnostic[];
}

function planGroup(group: readonly DesiredTemplate[], obs: ImageObservation, catalog: ImageCatalog, allocate: () => number | undefined): GroupResult {
  const first = group[0]!;
  const addr = imageAddress(first.image, first.version);
  const manifestRel = manifestFile(first.image, first.version);
  const manifest = findManifest(catalog, first.image, first.version);
  const users = usersOf(obs, first.tag);
  const diagnostics: Diagnostic[] = [];
  const work: NodeWork[] = [];
  const templates: { node: string; vmid: number; name: string; diskStorage: string }[] = [];
  const diff: FieldDiff[] = [];
  const allSteps: StepSummary[] = [];
  let impact: Impact = 'none';
  let existing = 0;
  let replacing = false;

  for (const d of group) {
    const state: TemplateState = assessTemplate(d, obs);
    const importPresent = obs.importVolumes.includes(`${d.node}/${d.importVolid}`);
    let w: NodeWork | undefined;
    if (state.kind === 'ready') {
      existing++;
      templates.push({ node: d.node, vmid: state.vm.vmid, name: d.name, diskStorage: d.diskStorage });
      const recorded = manifest?.templates.some((t) => t.node === d.node && t.vmid === state.vm.vmid) && manifest.source.url === d.url && manifest.source.checksum.value === d.checksum.value;
      if (!recorded) w = { node: d.node, op: 'record', vmid: state.vm.vmid, importPresent, reason: `${manifestRel} does not list it` };
    } else if (state.kind === 'locked') {
      diagnostics.push({ severity: 'error', code: 'LAB_L1_TEMPLATE_LOCKED', address: addr, summary: `VM ${state.vm.vmid} (${state.vm.name}) on ${d.node} is locked (${state.vm.lock})`, hint: `wait for the task holding it; a lock left by a crashed task is cleared with \`qm unlock ${state.vm.vmid}\` on ${d.node}` });
    } else if (state.kind === 'unfinished' || state.kind === 'stale') {
      existing++;
      const why = state.kind === 'stale' ? state.why : 'an earlier build did not finish';
      if (state.kind === 'stale' && users.length > 0) {
        diagnostics.push({
          severity: 'error',
          code: 'LAB_L1_TEMPLATE_IN_USE',
          address: addr,
          summary: `template ${state.vm.vmid} of ${first.image}@${first.version} on ${d.node} differs from lab.yaml (${why}) but ${users.length} VM(s) were cloned from it: ${users.map((u) => u.name).join(', ')}`,
          hint: 'a published version is immutable: add a new version to lab.yaml instead of changing this one',
        });
      } else {
        if (state.kind === 'stale') {
          replacing = true;
          impact = 'recreate';
        }
        w = { node: d.node, op: 'rebuild', vmid: state.vm.vmid, importPresent: importPresent && state.kind !== 'stale', reason: why };
        templates.push({ node: d.node, vmid: state.vm.vmid, name: d.name, diskStorage: d.diskStorage });
      }
    } else {
      const vmid = allocate();
      if (vmid === undefined) {
        diagnostics.push({ severity: 'error', code: 'LAB_L1_VMID_EXHAUSTED', address: addr, summary: `no free VMID left in ${TEMPLATE_VMID_RANGE.min}–${TEMPLATE_VMID_RANGE.max} for ${first.image}@${first.version} on ${d.node}`, hint: 'prune unused versions: lab image prune' });
      } else {
        w = { node: d.node, op: 'build', vmid, importPresent, reason: 'no template yet' };
        templates.push({ node: d.node, vmid, name: d.name, diskStorage: d.diskStorage });
        diff.push({ path: `templates.${d.node}`, after: vmid });
      }
    }
    if (w) {
      work.push(w);
      allSteps.push(...steps(d, w, manifestRel));
      if (w.op === 'rebuild') diff.push({ path: `templates.${d.node}`, before: w.vmid, after: w.vmid, note: w.reason });
    }
  }

  const action: Action = work.length === 0 ? 'noop' : replacing ? 'replace' : existing === 0 ? 'create' : 'update';
  if (first.bake && action !== 'noop') diff.unshift(...bakeWhy(first, catalog));
  const before = buildVmsOf(obs, first.image, first.version).map((v) => ({ node: v.node, vmid: v.vmid, template: v.template, source: v.provenance?.url }));
  const after: ImageChangeAfter = {
    image: first.image,
    version: first.version,
    url: first.url,
    checksum: checksumText(first),
    templates,
    work,
    ...(first.bake ? { bake: { base: { image: first.bake.base.image, version: first.bake.base.version }, profileHash: first.bake.profile.hash } } : {}),
  };
  const change: Change = {
    address: addr,
    layer: 'l1',
    kind: 'image',
    action,
    ...(replacing ? { replaceOrder: 'destroy-before-create' as const } : {}),
    impact: action === 'noop' ? 'none' : impact,
    ...(before.length > 0 ? { before } : {}),
    after,
    diff,
    sensitivePaths: [],
    steps: allSteps,
    ...(action === 'noop' ? { reason: `template${templates.length === 1 ? '' : 's'} ${templates.map((t) => `${t.vmid}@${t.node}`).join(', ')} built from the same ${first.bake ? 'base and profile' : 'URL and checksum'}` } : {}),
  };
  return { change, diagnostics };
}

/**
 * The L1 plan: one change per image version (`_site/l1/image[debian-12@2026.11.0]`) whose
 * `after.work` lists, per node, whether to build, rebuild or only record the manifest. Pure:
 * desired templates + observation + Git manifests in, plan out.
 */
export function planImages(desired: readonly DesiredTemplate[], obs: ImageObservation, catalog: ImageCatalog, options: PlanImagesOptions): Plan {
  const mode = options.mode ?? 'normal';
  const diagnostics: Diagnostic[] = [...(options.diagnostics ?? [])];
  if (mode === 'destroy') {
    // Templates outlive personas; removing them is `lab image prune`.
    return createPlan({ labVersion: options.labVersion, layers: ['l1'], mode, basis: basisOf(obs), ...(options.createdAt ? { createdAt: options.createdAt } : {}) });
  }
  const allocate = vmidAllocator(obs);
  const changes: Change[] = [];
  for (const group of groupBy(desired)) {
    const r = planGroup(group, obs, catalog, allocate);
    changes.push(r.change);
    diagnostics.push(...r.diagnostics);
  }
  const builds = changes.some((c) => !(c.after as ImageChangeAfter).bake && (c.after as ImageChangeAfter).work.some((w) => w.op !== 'record'));
  if (builds && !obs.importDiskImages) {
    diagnostics.push({
      severity: 'error',
      code: 'LAB_L1_IMPORT_UNSUPPORTED',
      summary: 'this Proxmox cannot import cloud images through the API (download-url of qcow2/raw/vmdk to import content needs PVE 8.4)',
      hint: 'upgrade the nodes to Proxmox VE 8.4 or later (`apt full-upgrade`), then run `lab apply --layer l1`',
    });
  }
  const declared = new Set(desired.map((d) => `${d.image}@${d.version}`));
  const orphans = obs.vms.filter((v) => isBuildVm(v) && v.provenance && !declared.has(`${v.provenance.image}@${v.provenance.version}`));
  if (orphans.length > 0 && desired.length > 0) {
    diagnostics.push({ severity: 'info', code: 'LAB_L1_ORPHANS', summary: `${orphans.length} template(s) of versions not selected or no longer in lab.yaml: ${orphans.map((o) => `${o.provenance!.image}@${o.provenance!.version}@${o.node}`).join(', ')}`, hint: '`lab image prune` removes the ones no VM uses' });
  }
  return createPlan({ labVersion: options.labVersion, layers: ['l1'], mode, basis: basisOf(obs), changes, diagnostics, ...(options.createdAt ? { createdAt: options.createdAt } : {}) });
}
