import { readFile } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { ExitCode, hasChanges, LabError, parsePlan, renderSummaryLine, type Plan, type PlanMode } from '@lab/core';
import { createContext, globalArgs } from '../context.js';
import { applyLayers, beginLayerRun, planLayers, prepare, type Prepared } from '@lab/engine/layer-verbs';
import { confirm, mutateLayers } from '../layer-verbs.js';
import { planExitCode, showPlan } from '../layer-verbs.js';

const scopeArgs = {
  ...globalArgs,
  layer: { type: 'string', description: 'Only these layers, e.g. l0 or l2,l3 (default: every layer, in order)', valueHint: 'layers' },
  persona: { type: 'string', description: 'The persona (comma-separated for several)', valueHint: 'name' },
  all: { type: 'boolean', description: 'Every persona', default: false },
  target: { type: 'string', description: 'Only addresses starting with these (comma-separated), e.g. media/l3/file', valueHint: 'addr' },
  image: { type: 'string', description: 'L1: only these images, e.g. debian-12 or debian-12@2026.11.0 (comma-separated)', valueHint: 'image' },
} as const;

function planVerb(mode: PlanMode, name: string, description: string) {
  return defineCommand({
    meta: { name, description },
    args: {
      ...scopeArgs,
      out: { type: 'string', description: 'Save the plan as JSON (apply exactly it later with `lab apply <file>`)', valueHint: 'file' },
    },
    async run({ args }) {
      const ctx = createContext(args);
      const p = await prepare(ctx, args);
      try {
        const plan = await planLayers(p, mode);
        await showPlan(ctx, plan, args.out);
        return planExitCode(plan);
      } finally {
        await p.session.close();
      }
    },
  });
}

export const planCommand = planVerb('normal', 'plan', 'Show what apply would change, with the impact of every change (exit 2 when changes are pending)');
export const checkCommand = planVerb('check', 'check', 'Dry run: compare the lab with its intent and change nothing (exit 2 on differences)');

const mutateArgs = {
  ...scopeArgs,
  yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
  'allow-reboot': { type: 'boolean', description: 'Apply changes that need a reboot, and reboot', default: false },
  'destroy-data': { type: 'boolean', description: 'Allow deleting persistent data disks and volumes', default: false },
  'break-lock': { type: 'boolean', description: 'Take over a persona lock held by another lab process, even one on another host (L2)', default: false },
} as const;

/** Apply, under guard snapshots of the changed guests with --snapshot (adr/0131). */
async function guarded(p: Prepared, plan: Plan, snapshot: boolean, keep: boolean): Promise<void> {
  if (!snapshot) return applyLayers(p, plan);
  // Loaded only here: the snapshot guard needs the Proxmox client (adr/0186).
  const { withGuardSnapshots } = await import('@lab/engine');
  await withGuardSnapshots(p.session, plan, () => applyLayers(p, plan), keep);
}

export const applyCommand = defineCommand({
  meta: { name: 'apply', description: 'Make the lab match its intent (or apply exactly a saved plan file)' },
  args: {
    ...mutateArgs,
    plan: { type: 'positional', description: 'A plan saved with `lab plan --out`', required: false },
    snapshot: { type: 'boolean', description: 'Snapshot each VM whose guest changes (L3/L4) first; revert to it if the apply or its health checks fail', default: false },
    'keep-snapshot': { type: 'boolean', description: 'With --snapshot: keep the snapshots after a successful apply', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    if (args.plan) {
      const saved = parsePlan(await readFile(args.plan, 'utf8'), args.plan);
      const p = await prepare(ctx, { ...args, layer: saved.layers.join(','), persona: saved.personas.join(',') || undefined });
      const run = beginLayerRun('apply', ctx, p);
      run.usePlan(saved);
      try {
        // Each layer re-observes and refuses the plan if its basis moved (LAB_PLAN_STALE).
        await guarded(p, saved, args.snapshot, args['keep-snapshot']);
        if (hasChanges(saved)) await run.ok();
        ctx.io.err(`Apply complete: ${renderSummaryLine(saved).replace(/^Plan: /, '')}`);
        return ExitCode.Ok;
      } catch (error) {
        await run.failed(error);
        throw error;
      } finally {
        await p.session.close();
      }
    }
    return mutateLayers(ctx, args, {
      command: 'apply',
      mode: 'normal',
      question: 'Apply these changes?',
      yes: args.yes,
      apply: (p, plan) => guarded(p, plan, args.snapshot, args['keep-snapshot']),
      done: (plan) => ctx.io.err(`Apply complete: ${renderSummaryLine(plan).replace(/^Plan: /, '')}`),
    });
  },
});

export const destroyCommand = defineCommand({
  meta: { name: 'destroy', description: 'Remove what the lab manages for a persona, or an orphan VM by id (data kept unless --destroy-data)' },
  args: {
    ...mutateArgs,
    orphan: { type: 'string', description: 'Destroy this lab-managed VM whose persona is no longer in Git (see `lab drift`)', valueHint: 'vmid' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    if (args.orphan !== undefined) {
      const vmid = Number(args.orphan);
      if (!Number.isInteger(vmid) || vmid < 100) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--orphan ${args.orphan} is not a VMID`, hint: 'a whole number from 100; `lab drift --layer l2` lists the orphans' });
      if (args.persona || args.all) throw new LabError({ code: 'LAB_CLI_USAGE', summary: '--orphan names a VM whose persona is gone; it does not go with --persona or --all', hint: `lab destroy --orphan ${vmid}` });
      const { destroyOrphan } = await import('@lab/engine');
      const r = await destroyOrphan(ctx, { vmid, destroyData: args['destroy-data'], onPlan: (plan) => showPlan(ctx, plan, undefined), confirm: () => confirm(ctx, `Destroy orphan VM ${vmid}?`, args.yes) });
      if (!r.applied) return ExitCode.Error;
      if (!ctx.json) ctx.io.err(`destroyed orphan VM ${vmid} (${r.orphan.persona})${r.orphan.dataDisks.length > 0 && !args['destroy-data'] ? `; kept its data disk(s) ${r.orphan.dataDisks.map((d) => d.volid).join(', ')}` : ''}`);
      return ExitCode.Ok;
    }
    if (!args.persona && !args.all) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: 'destroy needs --persona <name> (or --all)', hint: 'lab destroy --persona tinker' });
    }
    // Destroy removes VMs (L2). Stacks go with their VM; taking them down cleanly first, in the
    // guest, is `lab down` (L4 → L2). L3 has nothing to undo, L0/L1 are shared by every persona.
    const asked = args.layer ? args.layer.split(',').map((l) => l.trim()) : ['l2'];
    const refused = asked.filter((l) => l !== 'l2');
    if (refused.length > 0) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `destroy acts on L2 (the VMs) only, not ${refused.join(', ')}`, hint: `take the stacks down in the guest, then the VM: lab down --persona ${args.persona ?? '<name>'}` });
    }
    return mutateLayers(ctx, { ...args, layer: 'l2' }, { command: 'destroy', mode: 'destroy', question: 'Destroy these resources?', yes: args.yes });
  },
});
