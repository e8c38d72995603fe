import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { loadLab, type Lab } from '@lab/intent';
import { applyPrune, listImages, loadImageCatalog, observeSite, planPrune, promoteImage } from '@lab/l1-image';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { beginRun, createLayerContext, imageClient, type LayerSession } from '@lab/engine';
import { confirm } from '../layer-verbs.js';

async function session(ctx: CliContext): Promise<{ lab: Lab; session: LayerSession }> {
  const lab = await loadLab(ctx.root());
  return { lab, session: createLayerContext(lab, [], ctx.reporter, { allowReboot: false, destroyData: false, targets: [] }) };
}

const list = defineCommand({
  meta: { name: 'list', description: 'Image versions with their channels, templates, age and the VMs cloned from each' },
  args: { ...globalArgs, image: { type: 'positional', description: 'Only this image', required: false } },
  async run({ args }) {
    const ctx = createContext(args);
    const { lab, session: s } = await session(ctx);
    try {
      const client = await imageClient(s);
      const [catalog, obs] = await Promise.all([loadImageCatalog(lab.root), observeSite(client, lab.site.site)]);
      const rows = listImages(lab.site.site, catalog, obs).filter((r) => !args.image || r.image === args.image);
      if (ctx.json) {
        ctx.io.out(JSON.stringify(rows, null, 2));
      } else if (rows.length === 0) {
        ctx.io.err('no images; declare them under images: in lab.yaml');
      } else {
        for (const r of rows) {
          const tpl = r.templates.length === 0 ? 'not built' : r.templates.map((t) => `${t.vmid}@${t.node}${t.template ? '' : ' (unfinished)'}`).join(', ');
          const age = r.ageDays === undefined ? '-' : `${r.ageDays}d`;
          const users = r.users.length === 0 ? 'unused' : `used by ${r.users.map((u) => u.name).join(', ')}`;
          const flags = [...r.channels, ...(r.declared ? [] : ['not in lab.yaml'])].join(', ');
          ctx.io.out(`${`${r.image}@${r.version}`.padEnd(32)} ${flags.padEnd(18)} ${age.padStart(5)}  ${tpl}  ${users}`);
        }
      }
      return ExitCode.Ok;
    } finally {
      await s.close();
    }
  },
});

const promote = defineCommand({
  meta: { name: 'promote', description: 'Point a channel at a built version (writes artifacts/images/<image>/channels.json; commit it)' },
  args: {
    ...globalArgs,
    image: { type: 'positional', description: 'Image name, e.g. debian-12', required: true },
    version: { type: 'positional', description: 'A version listed in lab.yaml and already built', required: true },
    channel: { type: 'string', description: 'stable or canary', default: 'stable', valueHint: 'channel' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const r = await promoteImage(lab.root, lab.site.site, await loadImageCatalog(lab.root), args.image, args.version, args.channel);
    if (r.changed) await beginRun('image', { root: lab.root, reporter: ctx.reporter, personas: [], layers: ['l1'] }).ok({ action: 'promote', image: args.image, channel: r.channel, from: r.from ?? null, to: r.to });
    if (ctx.json) ctx.io.out(JSON.stringify(r, null, 2));
    else if (!r.changed) ctx.io.err(`${args.image}@${r.channel} already points at ${r.to}`);
    else ctx.io.err(`${args.image}@${r.channel}: ${r.from ?? '(none)'} → ${r.to}; commit ${r.file}; personas on ${args.image}@${r.channel} follow at their next \`lab apply --layer l2\``);
    return ExitCode.Ok;
  },
});

const prune = defineCommand({
  meta: { name: 'prune', description: 'Remove templates of versions no longer in lab.yaml (or the named ones), refusing any a VM still uses' },
  args: {
    ...globalArgs,
    version: { type: 'positional', description: 'image@version to prune (comma-separated); default: every version not in lab.yaml', required: false },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
    force: { type: 'boolean', description: 'Also remove versions VMs were cloned from (they keep running; re-creating them needs another version)', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const { lab, session: s } = await session(ctx);
    try {
      const wanted = args.version ? args.version.split(',').map((v) => v.trim()) : [];
      for (const w of wanted) if (!w.includes('@')) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `'${w}' is not image@version`, hint: 'lab image prune debian-12@20250210-2019' });
      const client = await imageClient(s);
      const plan = planPrune(lab.site.site, await loadImageCatalog(lab.root), await observeSite(client, lab.site.site), wanted, { force: args.force });
      for (const r of plan.refused) ctx.io.err(`keeping ${r.image}@${r.version}: ${r.reason}${r.reason.startsWith('used by') ? ' (--force removes it anyway)' : ''}`);
      if (ctx.json) ctx.io.out(JSON.stringify(plan, null, 2));
      if (plan.remove.length === 0) {
        if (!ctx.json) ctx.io.err('nothing to prune');
        return plan.refused.length > 0 && wanted.length > 0 ? ExitCode.Error : ExitCode.Ok;
      }
      for (const t of plan.remove) ctx.io.err(`prune ${t.image}@${t.version}: templates ${t.vms.map((v) => `${v.vmid}@${v.node}`).join(', ') || '(none)'}, ${t.files.length} file(s), its manifest`);
      await confirm(ctx, 'Remove these templates?', args.yes);
      const run = beginRun('image', { root: lab.root, reporter: ctx.reporter, personas: [], layers: ['l1'] });
      const details = { action: 'prune', versions: plan.remove.map((t) => `${t.image}@${t.version}`).join(',') };
      try {
        await applyPrune(client, lab.root, plan, ctx.reporter);
      } catch (error) {
        await run.failed(error, details);
        throw error;
      }
      await run.ok(details);
      ctx.io.err(`pruned ${plan.remove.length} version(s); commit the removed manifests`);
      return plan.refused.length > 0 && wanted.length > 0 ? ExitCode.Error : ExitCode.Ok;
    } finally {
      await s.close();
    }
  },
});

export const imageCommand = defineCommand({
  meta: { name: 'image', description: 'The image catalogue (layer L1): list versions and users, promote to a channel, prune unused templates' },
  subCommands: { list, promote, prune },
});
