import { hasErrors, LabError, runStep, type Plan, type Reporter } from '@lab/core';
import { cloneVm, configureVm, convertToTemplate, destroyVm, pveInt, pveList, shutdownVm, startVm, type PveClient } from '@lab/pve';
import { driveVolume } from './archive-config.js';
import { capturedManifest, readCapturedManifest, writeCapturedManifest, type CaptureProvenance, type CapturedManifest } from './manifest.js';
import { readConfig } from './persona-vm.js';
import { revisionText, type LabRevision } from './revision.js';
import type { CleanReport } from './template-clean.js';
import { PERSONA_KEYS, type TemplateCall, type TemplateCaptureIntent } from './template-plan.js';

/** The booted clone, as the cleaner must reach it. */
export interface CloneTarget {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  /** The scratch address it boots at (no prefix). */
  readonly address: string;
  readonly progress: (message: string) => void;
}

export interface TemplateCaptureContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  /** Lab root: the manifest goes to `artifacts/images/<image>/<version>.json` under it. */
  readonly root: string;
  readonly labVersion: string;
  readonly revision: LabRevision;
  /** Clean the booted clone; the CLI does it over SSH (`cleanCloneOverSsh`). */
  readonly clean: (clone: CloneTarget) => Promise<CleanReport>;
  readonly pollMs?: number;
  readonly now?: () => Date;
}

export interface TemplateCaptureResult {
  readonly image: string;
  readonly version: string;
  readonly vmid: number;
  readonly node: string;
  readonly name: string;
  /** Lab-root-relative path of the manifest written. */
  readonly manifest: string;
  readonly clean: CleanReport;
  readonly provenance: CaptureProvenance;
}

/** L1's provenance lines (adr/0081) plus the capture's own, so `lab image list` and prune see the template. */
export function templateDescription(m: CapturedManifest): string {
  const p = m.capture;
  return [
    `Captured by lab from persona ${p.persona} (VM ${p.vmid}) — do not edit; \`lab image list\` shows its users.`,
    `lab-image: ${m.image}`,
    `lab-version: ${m.version}`,
    `lab-source: ${m.source.url}`,
    `lab-checksum: sha256:${m.source.checksum.value}`,
    'lab-build: captured',
    `lab-captured: persona=${p.persona} vmid=${p.vmid} commit=${p.commit}${p.dirty ? '-dirty' : ''} lab=${p.labVersion} at=${p.capturedAt}`,
  ].join('\n');
}

/** Remove the half-made clone after a failure; only the VM this capture created, identified by VMID and name. */
async function discardClone(client: PveClient, call: TemplateCall, reporter: Reporter, pollMs: number): Promise<void> {
  try {
    await destroyVm(client, { node: call.node, vmid: call.vmid }, { onlyIfName: call.name, pollMs, reporter, title: `remove the unfinished clone ${call.vmid}` });
  } catch (err) {
    reporter.emit({ type: 'log', level: 'warn', message: `could not remove the unfinished clone ${call.vmid} on ${call.node}: ${(err as Error).message}; remove it by hand (qm destroy ${call.vmid} --purge)` });
  }
}

/**
 * Apply a template capture plan on a full clone of the persona's VM: clone, boot it once at
 * the scratch address, clean it through `ctx.clean`, shut it down, drop its data disk copies and
 * persona settings, convert it, write the manifest, and prove the result by reading both back.
 * A failure after the clone exists removes the clone; the persona's VM is never written.
 */
export async function applyTemplateCapture(plan: Plan, intent: TemplateCaptureIntent, ctx: TemplateCaptureContext): Promise<TemplateCaptureResult> {
  if (hasErrors(plan.diagnostics)) {
    const errors = plan.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0]!;
    throw new LabError({ code: first.code, summary: first.summary, ...(first.hint ? { hint: first.hint } : {}), ...(first.address ? { address: first.address } : {}), diagnostics: errors });
  }
  const change = plan.changes.find((c) => c.kind === 'template');
  if (!change) throw new LabError({ code: 'LAB_CAPTURE_PLAN_INVALID', summary: 'the template plan captures nothing', hint: 'plan again' });
  const call = change.after as TemplateCall;
  const pollMs = ctx.pollMs ?? 1_000;
  const now = ctx.now ?? (() => new Date());
  const provenance: CaptureProvenance = {
    persona: intent.persona,
    vmid: call.source,
    node: call.node,
    commit: ctx.revision.commit,
    dirty: ctx.revision.dirty,
    capturedAt: now().toISOString(),
    labVersion: ctx.labVersion,
    sourceDigest: call.sourceDigest,
  };
  const { config: source } = await readConfig(ctx.client, call.node, call.source);
  const storage = driveVolume(source[call.rootDisk] ?? '').volid.split(':')[0] ?? '';
  const draft = (createdAt: string): CapturedManifest =>
    capturedManifest({
      image: intent.image,
      version: intent.version,
      os: intent.os,
      cloudInitUser: intent.cloudInitUser,
      template: { node: call.node, vmid: call.vmid, storage, format: /\.qcow2$|,format=qcow2/.test(source[call.rootDisk] ?? '') ? 'qcow2' : 'raw', createdAt },
      serialConsole: source['serial0'] !== undefined,
      guestAgent: /^(?:enabled=)?1/.test(source['agent'] ?? ''),
      provenance,
    });
  const description = templateDescription(draft(provenance.capturedAt));

  const clone = { node: call.node, vmid: call.vmid };
  const step = { address: change.address, pollMs, reporter: ctx.reporter };
  await cloneVm(ctx.client, { node: call.node, vmid: call.source }, { ...step, newid: call.vmid, name: call.name, full: true, description, title: `full clone of VM ${call.source} (${intent.persona}) to ${call.vmid}` });
  try {
    // First: the clone must not look like the persona's VM (tags), start with the node, or resist removal.
    await configureVm(ctx.client, clone, { tags: call.tags.join(';'), ipconfig0: call.ipconfig0, onboot: 0, protection: 0 });
    await startVm(ctx.client, clone, { ...step, title: `boot the clone ${call.vmid} at ${call.address}` });
    const clean = await runStep(ctx.reporter, `clean the clone ${call.vmid} over SSH`, (progress) => ctx.clean({ persona: intent.persona, vmid: call.vmid, node: call.node, address: call.address, progress }), { address: change.address });
    await shutdownVm(ctx.client, clone, { ...step, title: `shut down the clone ${call.vmid}` });
    await stripClone(ctx.client, call);
    await convertToTemplate(ctx.client, clone, { ...step, title: `convert ${call.vmid} to a template` });
    const { config } = await readConfig(ctx.client, call.node, call.vmid);
    verifyTemplate(call, config);
    const ctime = pveInt(/(?:^|,)ctime=(\d+)/.exec(config['meta'] ?? '')?.[1]);
    const manifest = draft(new Date(ctime !== undefined ? ctime * 1000 : now().getTime()).toISOString());
    const rel = await writeCapturedManifest(ctx.root, manifest);
    const back = await readCapturedManifest(ctx.root, intent.image, intent.version);
    if (back?.templates[0]?.vmid !== call.vmid) throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_VERIFY', summary: `${rel} does not list template ${call.vmid} after writing it` });
    ctx.reporter.emit({ type: 'log', level: 'info', address: change.address, message: `template ${call.name} (${call.vmid}) is ${intent.image}@${intent.version}; commit ${rel} (captured at ${revisionText(ctx.revision)})` });
    return { image: intent.image, version: intent.version, vmid: call.vmid, node: call.node, name: call.name, manifest: rel, clean, provenance };
  } catch (err) {
    await discardClone(ctx.client, call, ctx.reporter, pollMs);
    throw err;
  }
}

/** Delete the clone's data disk copies and the persona's settings; only volumes the clone owns are freed. */
async function stripClone(client: PveClient, call: TemplateCall): Promise<void> {
  const { config } = await readConfig(client, call.node, call.vmid);
  const owned = new RegExp(`(?:^|[:/])vm-${call.vmid}-`);
  for (const key of call.dataDisks) {
    const v = config[key];
    if (v !== undefined && !owned.test(driveVolume(v).volid)) {
      throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_VERIFY', summary: `the clone's ${key} is ${driveVolume(v).volid}, not a copy it owns; refusing to delete it`, hint: 'report this: a full clone must own all its disks' });
    }
  }
  const drop = [...call.dataDisks, ...Object.keys(config).filter((k) => /^ipconfig\d+$/.test(k) || (PERSONA_KEYS as readonly string[]).includes(k))].filter((k) => config[k] !== undefined);
  if (drop.length > 0) await configureVm(client, { node: call.node, vmid: call.vmid }, { delete: drop.join(',') });
  const after = await readConfig(client, call.node, call.vmid);
  const unused = Object.keys(after.config).filter((k) => /^unused\d+$/.test(k) && owned.test(after.config[k]!));
  if (unused.length > 0) await configureVm(client, { node: call.node, vmid: call.vmid }, { delete: unused.join(',') });
}

function verifyTemplate(call: TemplateCall, config: Readonly<Record<string, string>>): void {
  const problems: string[] = [];
  if (config['template'] !== '1') problems.push('not a template');
  const tags = pveList(config['tags']).map((t) => t.toLowerCase()).sort();
  if (tags.join(';') !== [...call.tags].sort().join(';')) problems.push(`tags ${tags.join(';')}`);
  if (config[call.rootDisk] === undefined) problems.push(`no ${call.rootDisk}`);
  for (const k of call.dataDisks) if (config[k] !== undefined) problems.push(`still has ${k}`);
  for (const k of Object.keys(config)) if (/^(?:ipconfig\d+|unused\d+)$/.test(k) || (PERSONA_KEYS as readonly string[]).includes(k)) problems.push(`still has ${k}`);
  if (problems.length > 0) throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_VERIFY', summary: `template ${call.vmid} did not verify: ${problems.join(', ')}`, hint: `inspect it: qm config ${call.vmid} (on ${call.node})` });
}
