import type { PlanMode } from '@lab/core';
import { assertHostReady } from '@lab/l0-host';
import { applyImageLayer, planImageLayer, type ImageChangeAfter, type ImageLayerOptions } from '@lab/l1-image';
import type { PveClient } from '@lab/pve';
import type { LayerAdapter, LayerContext } from './adapter.js';
import { bakePorts } from './l1-bake.js';
import { pveClientOf } from './pve-client.js';

/** `LAB_IMAGE=debian-12,ubuntu-24@20260101` narrows L1 to these images or versions (what `--image` sets). */
export const IMAGE_ENV = 'LAB_IMAGE';

/**
 * Which images this run is about: `flags.images` once the CLI has an `--image` flag, else
 * `$LAB_IMAGE`, else `--target _site/l1/image[debian-12@1]` addresses; empty means all.
 */
export function imageSelection(ctx: LayerContext): string[] {
  const fromFlag = (ctx.flags as { readonly images?: readonly string[] }).images;
  if (fromFlag && fromFlag.length > 0) return [...fromFlag];
  const env = process.env[IMAGE_ENV];
  if (env) return env.split(',').map((s) => s.trim()).filter(Boolean);
  return ctx.flags.targets.map((t) => /^_site\/l1\/image\[([^\]]+)\]$/.exec(t)?.[1]).filter((k): k is string => k !== undefined);
}

/** A client on the endpoint the engine resolved (the lab token once L0 made it). */
export function imageClient(ctx: LayerContext): Promise<PveClient> {
  return pveClientOf(ctx);
}

function options(ctx: LayerContext): ImageLayerOptions {
  const only = imageSelection(ctx);
  return { site: ctx.lab.site.site, root: ctx.lab.root, labVersion: ctx.labVersion, reporter: ctx.reporter, ...(only.length > 0 ? { only } : {}) };
}

/** L1 refuses to run on a failed L0; planning tolerates setup that `apply --layer l0` will make. */
async function gate(client: PveClient, ctx: LayerContext, mode: PlanMode | 'apply'): Promise<void> {
  await assertHostReady(client, { site: ctx.lab.site.site, personas: [] }, { reporter: ctx.reporter, allowPendingSetup: mode !== 'apply' });
}

export const l1Adapter: LayerAdapter = {
  layer: 'l1',
  description: 'Images: cloud images of lab.yaml as version-stamped Proxmox templates, with manifests in artifacts/images',

  async plan(ctx, mode) {
    const client = await imageClient(ctx);
    if (mode !== 'destroy') await gate(client, ctx, mode);
    return planImageLayer(client, options(ctx), mode);
  },

  async apply(plan, ctx) {
    if (plan.mode === 'destroy') return;
    const client = await imageClient(ctx);
    await gate(client, ctx, 'apply');
    const bakes = plan.changes.some((c) => c.action !== 'noop' && (c.after as ImageChangeAfter | undefined)?.bake !== undefined);
    const result = await applyImageLayer(client, plan, { ...options(ctx), ...(bakes ? { bake: await bakePorts(ctx, client) } : {}) });
    if (result.manifests.length > 0) {
      ctx.reporter.emit({ type: 'log', level: 'info', message: `manifests written — commit them: git add ${result.manifests.join(' ')}` });
    }
  },
};

