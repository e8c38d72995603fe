import type { Plan, PlanMode, Reporter } from '@lab/core';
import type { Site } from '@lab/intent';
import type { PveClient } from '@lab/pve';
import { applyImages, type ApplyImagesResult } from './apply.js';
import type { BakePorts } from './bake.js';
import { checkSelection, desiredTemplates } from './intent.js';
import { loadImageCatalog } from './manifest.js';
import { observeImages, type ImageObservation } from './observe.js';
import { basisOf, planImages } from './plan.js';

export interface ImageLayerOptions {
  readonly site: Site;
  /** Lab root (manifests under artifacts/images). */
  readonly root: string;
  readonly labVersion: string;
  /** `--image debian-12` or `debian-12@2026.11.0`; all images when empty. */
  readonly only?: readonly string[];
  readonly reporter: Reporter;
  readonly pollMs?: number;
  /** How baked versions converge (the engine's ports to L3 and SSH); see `ApplyImagesContext.bake`. */
  readonly bake?: BakePorts | 'records-only';
}

/** Observe what L1 needs for the whole site (all nodes, every image storage). */
export function observeSite(client: PveClient, site: Site): Promise<ImageObservation> {
  return observeImages(client, { nodes: site.nodes.map((n) => n.name), importStorages: [...new Set(site.images.filter((i) => !i.baked).map((i) => i.storage))] });
}

/** observe → plan: the L1 plan for lab.yaml as the cluster and the Git manifests stand now. */
export async function planImageLayer(client: PveClient, options: ImageLayerOptions, mode: PlanMode = 'normal'): Promise<Plan> {
  checkSelection(options.site, options.only);
  const { templates, diagnostics } = desiredTemplates(options.site, options.only ? { only: options.only } : {});
  const [obs, catalog] = await Promise.all([observeSite(client, options.site), loadImageCatalog(options.root)]);
  return planImages(templates, obs, catalog, { mode, labVersion: options.labVersion, diagnostics });
}

/** apply → re-verify, for a plan made by `planImageLayer` with the same options. */
export function applyImageLayer(client: PveClient, plan: Plan, options: ImageLayerOptions): Promise<ApplyImagesResult> {
  // Every version: a saved plan may name any of them; each change picks its own.
  const { templates } = desiredTemplates(options.site);
  return applyImages(plan, {
    client,
    reporter: options.reporter,
    root: options.root,
    labVersion: options.labVersion,
    desired: templates,
    observe: () => observeSite(client, options.site),
    basisOf,
    verify: () => planImageLayer(client, options),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.bake !== undefined ? { bake: options.bake } : {}),
  });
}
