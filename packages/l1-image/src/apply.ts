import { hasChanges, LabError, runStep, type Address, type Plan, type PlanBasis, type Reporter } from '@lab/core';
import { ALREADY_EXISTS, cloneVm, configureVm, convertToTemplate, createVm, destroyVm, downloadToStorage, isPveError, PveTaskError, removeVolume, vmStatus, type PveClient } from '@lab/pve';
import { checksumText, type DesiredTemplate } from './intent.js';
import { baseTemplateOn, bakeTemplate, type BakeOutcome, type BakePorts } from './bake.js';
import { findManifest, loadImageCatalog, writeManifest, type ManifestBake } from './manifest.js';
import { renderProvenance, TEMPLATE_TAG } from './naming.js';
import type { ImageObservation } from './observe.js';
import type { ImageChangeAfter, NodeWork } from './plan.js';
import { manifestFromObservation } from './record.js';

export interface ApplyImagesContext {
  /** The lab token (L0 made sure it may download, allocate and create). */
  readonly client: PveClient;
  readonly reporter: Reporter;
  /** Lab root: manifests go to `<root>/artifacts/images`. */
  readonly root: string;
  readonly labVersion: string;
  /** Desired templates, as the plan was made from (same lab.yaml). */
  readonly desired: readonly DesiredTemplate[];
  /** Re-observe the cluster. */
  observe(): Promise<ImageObservation>;
  /** The basis of an observation (`basisOf`). */
  basisOf(obs: ImageObservation): PlanBasis;
  /** Plan again after applying; anything left is `LAB_L1_NOT_CONVERGED`. */
  verify(): Promise<Plan>;
  /** Task wait options (tests poll faster). */
  readonly pollMs?: number;
  /**
   * How baked versions are converged (adr/0145): the engine's ports to L3 and SSH, or
   * `records-only` on a simulator without guests (the base is cloned and templated unconverged,
   * and the manifest says so). Without it a bake is refused.
   */
  readonly bake?: BakePorts | 'records-only';
}

export interface ApplyImagesResult {
  /** Manifests written, lab-root-relative. */
  readonly manifests: readonly string[];
}

function createParams(d: DesiredTemplate, vmid: number): Record<string, string | number> {
  return {
    vmid,
    name: d.name,
    description: renderProvenance({ image: d.image, version: d.version, url: d.url, checksum: checksumText(d), build: d.build }),
    tags: [TEMPLATE_TAG, d.tag].sort().join(';'),
    ostype: 'l26',
    memory: 1024,
    cores: 1,
    scsihw: 'virtio-scsi-single',
    scsi0: `${d.diskStorage}:0,import-from=${d.importVolid},discard=on,iothread=1`,
    ide2: `${d.diskStorage}:cloudinit`,
    boot: 'order=scsi0',
    ciuser: d.cloudInit.user,
    ...(d.serialConsole ? { serial0: 'socket', vga: 'serial0' } : {}),
    ...(d.guestAgent ? { agent: 1 } : {}),
  };
}

async function download(ctx: ApplyImagesContext, d: DesiredTemplate, address: Address, pollMs: number): Promise<void> {
  const params = { content: 'import', filename: d.filename, url: d.url, checksum: d.checksum.value, 'checksum-algorithm': d.checksum.algorithm };
  const run = () => downloadToStorage(ctx.client, d.node, d.importStorage, params, { title: `download ${d.filename} to ${d.node}`, address, pollMs });
  try {
    await run();
  } catch (err) {
    if (!(err instanceof PveTaskError) || !/checksum mismatch/.test(err.exitstatus)) throw err;
    if (err.log.some((l) => l.includes('existing file'))) {
      // The file under this version's name came from another URL/checksum: it is L1's own, replace it.
      await removeVolume(ctx.client, d.node, d.importStorage, d.importVolid, { title: `remove outdated ${d.importVolid} on ${d.node}`, address, pollMs }).catch((e: unknown) => {
        if (!isPveError(e, 'LAB_PVE_NOT_FOUND')) throw e;
      });
      await run();
      return;
    }
    throw new LabError({
      code: 'LAB_L1_CHECKSUM_MISMATCH',
      summary: `${d.url} does not match the ${d.checksum.algorithm} of ${d.image}@${d.version} in lab.yaml; Proxmox discarded the download`,
      detail: err.exitstatus,
      hint: `compare the digest in lab.yaml with the upstream ${d.checksum.algorithm.toUpperCase()}SUMS of the same release, fix it, and run \`lab apply --layer l1 --image ${d.image}@${d.version}\``,
      address,
      cause: err,
    });
  }
}

async function waitUnlocked(client: PveClient, node: string, vmid: number, pollMs: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { lock } = await vmStatus(client, { node, vmid });
    if (lock === undefined) return;
    if (Date.now() > deadline) throw new LabError({ code: 'LAB_PVE_LOCKED', summary: `VM ${vmid} on ${node} stays locked (${lock})`, hint: `check the task list of ${node}; \`qm unlock ${vmid}\` clears a stale lock` });
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function destroy(ctx: ApplyImagesContext, node: string, vmid: number, address: Address, pollMs: number): Promise<void> {
  await destroyVm(ctx.client, { node, vmid }, { address, pollMs, reporter: ctx.reporter });
}

async function bake(ctx: ApplyImagesContext, d: DesiredTemplate, w: NodeWork, address: Address, pollMs: number): Promise<BakeOutcome | undefined> {
  if (w.op === 'rebuild') await destroy(ctx, d.node, w.vmid, address, pollMs);
  const base = baseTemplateOn(await ctx.observe(), d);
  if (!base) {
    throw new LabError({ code: 'LAB_L1_BASE_MISSING', summary: `${d.image}@${d.version} is baked from ${d.bake!.base.image}@${d.bake!.base.version}, which has no template on ${d.node}`, hint: `build the base first: lab apply --layer l1 --image ${d.bake!.base.image}@${d.bake!.base.version}`, address });
  }
  if (ctx.bake === undefined) {
    throw new LabError({ code: 'LAB_L1_BAKE_UNAVAILABLE', summary: `${d.image}@${d.version} is a baked image but this run cannot reach guests to converge it`, hint: 'run it through `lab apply --layer l1` (the engine wires L3 and SSH)', address });
  }
  if (ctx.bake === 'records-only') {
    ctx.reporter.emit({ type: 'log', level: 'warn', address, message: `records-only simulator (proxmox.guests: none): ${d.name} is a clone of its base, not converged` });
    await recordsOnlyBake(ctx, d, w.vmid, base, address, pollMs);
    return undefined;
  }
  return bakeTemplate({ client: ctx.client, reporter: ctx.reporter, pollMs, ports: ctx.bake }, d, w.vmid, base, address);
}

async function recordsOnlyBake(ctx: ApplyImagesContext, d: DesiredTemplate, vmid: number, base: { node: string; vmid: number }, address: Address, pollMs: number): Promise<void> {
  const description = renderProvenance({ image: d.image, version: d.version, url: d.url, checksum: checksumText(d), build: d.build });
  const vm = await cloneVm(ctx.client, base, { newid: vmid, name: d.name, full: true, storage: d.diskStorage, description, address, pollMs, reporter: ctx.reporter, title: `full clone of ${d.bake!.base.image}@${d.bake!.base.version} to ${vmid}` });
  await configureVm(ctx.client, vm, { tags: [TEMPLATE_TAG, d.tag].sort().join(';') });
  await convertToTemplate(ctx.client, vm, { address, pollMs, reporter: ctx.reporter });
}

async function build(ctx: ApplyImagesContext, d: DesiredTemplate, w: NodeWork, address: Address, pollMs: number): Promise<void> {
  if (w.op === 'rebuild') await destroy(ctx, d.node, w.vmid, address, pollMs);
  await download(ctx, d, address, pollMs);
  const created = await runStep(
    ctx.reporter,
    `create VM ${w.vmid} ${d.name} on ${d.node}`,
    async () => {
      // A resend that meets `already exists` means our first attempt created it (pve-api §7.1).
      const r = await createVm(ctx.client, d.node, createParams(d, w.vmid), { alreadyDone: ALREADY_EXISTS });
      if (r.status === 'done') await ctx.client.waitForTask(r.value, { title: `import ${d.filename} as VM ${w.vmid}`, address, pollMs });
      else await waitUnlocked(ctx.client, d.node, w.vmid, pollMs);
      return r.status;
    },
    { address },
  );
  if (created === 'already-done') ctx.reporter.emit({ type: 'log', level: 'info', message: `VM ${w.vmid} was created by an earlier attempt`, address });
  await convertToTemplate(ctx.client, { node: d.node, vmid: w.vmid }, { title: `convert VM ${w.vmid} to a template`, address, pollMs });
}

/**
 * Apply an L1 plan: refuse it when the cluster moved since planning (`LAB_PLAN_STALE`), then per
 * image version and node download (checksum verified by Proxmox), create the VM with the
 * imported disk, cloud-init drive, serial console and agent, convert it to a template, and
 * write the version's manifest from what the cluster then shows. Ends by planning again.
 */
export async function applyImages(plan: Plan, ctx: ApplyImagesContext): Promise<ApplyImagesResult> {
  const pollMs = ctx.pollMs ?? 1_000;
  const now = ctx.basisOf(await ctx.observe());
  const stale = Object.keys(plan.basis).filter((k) => k.startsWith('_site/l1/') && plan.basis[k] !== now[k]);
  if (stale.length > 0) {
    throw new LabError({ code: 'LAB_PLAN_STALE', summary: 'the templates on the cluster changed since this plan was made', detail: `moved: ${stale.join(', ')}`, hint: 'plan again: lab plan --layer l1' });
  }
  const manifests: string[] = [];
  const catalog = await loadImageCatalog(ctx.root);
  for (const change of plan.changes) {
    if (change.layer !== 'l1' || change.action === 'noop') continue;
    const after = change.after as ImageChangeAfter;
    const group = ctx.desired.filter((d) => d.image === after.image && d.version === after.version);
    let baked: BakeOutcome | undefined;
    let bakedAny = false;
    const bakes: Promise<BakeOutcome | undefined>[] = [];
    for (const w of after.work) {
      const d = group.find((g) => g.node === w.node);
      if (!d) throw new LabError({ code: 'LAB_PLAN_STALE', summary: `${change.address} on ${w.node} is no longer in lab.yaml`, hint: 'plan again: lab plan --layer l1', address: change.address });
      if (w.op === 'record') continue;
      if (d.bake) {
        // Each node bakes its own VM at its own scratch address, all at once.
        bakes.push(bake(ctx, d, w, change.address, pollMs));
        bakedAny = true;
      } else await build(ctx, d, w, change.address, pollMs);
    }
    const settled = await Promise.allSettled(bakes);
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) throw failures[0];
    for (const r of settled) if (r.status === 'fulfilled' && r.value) baked ??= r.value;
    const first = group[0];
    const bakeInfo: ManifestBake | undefined = first?.bake
      ? baked
        ? { base: { image: first.bake.base.image, version: first.bake.base.version }, profileHash: first.bake.profile.hash, mixins: first.bake.profile.files, packages: baked.packages, converge: baked.converge }
        : (findManifest(catalog, first.image, first.version)?.bake ?? { base: { image: first.bake.base.image, version: first.bake.base.version }, profileHash: first.bake.profile.hash, mixins: first.bake.profile.files, packages: [], converge: { changed: 0, unchanged: 0 }, ...(bakedAny ? { recordsOnly: true } : {}) })
      : undefined;
    const manifest = manifestFromObservation(group, await ctx.observe(), ctx.labVersion, bakeInfo);
    if (manifest) {
      manifests.push(await writeManifest(ctx.root, manifest));
      ctx.reporter.emit({ type: 'log', level: 'info', message: `recorded ${manifest.image}@${manifest.version} in ${manifests.at(-1)}`, address: change.address });
    }
  }
  const after = await ctx.verify();
  if (hasChanges(after)) {
    throw new LabError({
      code: 'LAB_L1_NOT_CONVERGED',
      summary: `the templates do not match lab.yaml after apply: ${after.changes.filter((c) => c.action !== 'noop').map((c) => c.address).join(', ')}`,
      hint: 'run `lab plan --layer l1` to see what is left; the task logs on the node tell why',
    });
  }
  return { manifests };
}
