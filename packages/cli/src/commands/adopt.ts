import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { parseDocument } from 'yaml';
import { ExitCode, hasChanges, LabError } from '@lab/core';
import { loadLab } from '@lab/intent';
import { adoptVm, markAdopted, personaOfDescription, readVm } from '@lab/l2-vm';
import { imageTag, readClusterResources } from '@lab/pve';
import { createContext, globalArgs } from '../context.js';
import { createLayerContext, planLayers, prepare, pveClientOf } from '@lab/engine';
import { showPlan } from '../layer-verbs.js';

/**
 * `lab adopt --vmid N --persona name`: write the persona's `vm:` section from an existing VM,
 * mark the VM as lab's (tags, name, `adopted` marker), and prove it with a zero-change L2 plan.
 */
export const adoptCommand = defineCommand({
  meta: { name: 'adopt', description: 'Take an existing VM under lab: write its persona vm: section and prove it with a zero-change plan' },
  args: {
    ...globalArgs,
    vmid: { type: 'string', description: 'The VM to adopt', required: true, valueHint: 'N' },
    persona: { type: 'string', description: 'Persona to write (created when missing)', required: true, valueHint: 'name' },
    image: { type: 'string', description: 'Image it runs, when its tags do not say (e.g. debian-12@stable)', valueHint: 'ref' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const vmid = Number(args.vmid);
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(args.persona) || !Number.isInteger(vmid)) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: 'adopt needs --vmid <number> and --persona <name>', hint: 'lab adopt --vmid 105 --persona tinker' });
    }
    const lab = await loadLab(ctx.root());
    const session = createLayerContext(lab, [], ctx.reporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const client = await pveClientOf(session);
      const row = (await readClusterResources(client)).vms.find((v) => v.vmid === vmid && !v.template);
      if (!row) throw new LabError({ code: 'LAB_L2_ADOPT_MISSING', summary: `no VM ${vmid} on the cluster`, hint: 'list VMs: pvesh get /cluster/resources --type vm' });
      const { config } = await readVm(client, row.node, vmid);
      const owner = personaOfDescription(config['description']);
      if (owner && owner !== args.persona) throw new LabError({ code: 'LAB_L2_ADOPT_OWNED', summary: `VM ${vmid} already belongs to persona ${owner}` });
      const imageTags = lab.site.site.images.flatMap((i) => i.versions.map((v) => ({ tag: imageTag(i.name, v.version), ref: `${i.name}@${v.version}` })));
      const adopted = adoptVm(config, { node: row.node, vmid, ...(args.image ? { image: args.image } : {}), imageTags });
      const dir = join(lab.root, 'personas', args.persona);
      const file = join(dir, 'persona.yaml');
      const oldText = (config['description'] ?? '').replace(/\n*lab:managed persona=.*$/m, '').trim() || undefined;
      let text: string | undefined = oldText;
      if (existsSync(file)) {
        const doc = parseDocument(await readFile(file, 'utf8'));
        doc.set('vm', doc.createNode(adopted.section));
        text = (doc.get('description') as string | undefined) ?? undefined;
        await writeFile(file, doc.toString());
      } else {
        await mkdir(dir, { recursive: true });
        const doc = parseDocument(`name: ${args.persona}\n`);
        if (oldText) doc.set('description', oldText);
        doc.set('vm', doc.createNode(adopted.section));
        await writeFile(file, doc.toString());
      }
      await markAdopted(client, { node: row.node, vmid }, args.persona, (adopted.section['tags'] as string[]) ?? [], text);
      ctx.io.err(`wrote personas/${args.persona}/persona.yaml (vm:) from VM ${vmid}; proving it with a plan`);
      const p = await prepare(ctx, { layer: 'l2', persona: args.persona });
      try {
        const plan = await planLayers(p, 'normal');
        await showPlan(ctx, plan, undefined);
        if (hasChanges(plan)) {
          ctx.io.err('the adopted persona does not plan to zero changes; review the diff above and edit the persona');
          return ExitCode.Changes;
        }
        ctx.io.err(`adopted VM ${vmid} as persona ${args.persona}: the plan has no changes`);
        return ExitCode.Ok;
      } finally {
        await p.session.close();
      }
    } finally {
      await session.close();
    }
  },
});
