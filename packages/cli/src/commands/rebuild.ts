import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { confirm } from '../layer-verbs.js';
import { clearRebuildState, loadRebuildState, planRebuild, rebuildPorts, type RebuildState, rebuildStateFile, recordRun, runRebuild, selectPersonas } from '@lab/engine';

/**
 * `lab rebuild --persona X`: capture data → destroy the VM → recreate (L2) → converge (L3) →
 * restore data → deploy (L4) → verify. Shows the steps first; a failure keeps the backup and
 * the detached data disks and says how to resume.
 */
export const rebuildCommand = defineCommand({
  meta: { name: 'rebuild', description: 'Rebuild a persona from intent, carrying its data over (capture → destroy → create → converge → restore → deploy → verify)' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'The persona to rebuild', valueHint: 'name', required: true },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
    resume: { type: 'boolean', description: 'Continue an interrupted rebuild where it stopped', default: false },
    unprotect: { type: 'boolean', description: 'Clear protection on the old VM so it can be destroyed (intent sets it again)', default: false },
    'allow-reboot': { type: 'boolean', description: 'Apply changes that need a reboot, and reboot', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const [persona] = selectPersonas(lab, args.persona, false, true);
    if (!persona) throw new LabError({ code: 'LAB_CLI_USAGE', summary: 'rebuild needs --persona <name>', hint: 'lab rebuild --persona media' });
    const previous = await loadRebuildState(lab.root, persona.name);
    if (previous && !args.resume) {
      throw new LabError({
        code: 'LAB_REBUILD_IN_PROGRESS',
        summary: `a rebuild of ${persona.name} started at ${previous.startedAt} did not finish${previous.failed ? ` (stopped at ${previous.failed.step}: ${previous.failed.summary})` : ''}`,
        hint: `continue it: lab rebuild --persona ${persona.name} --resume   (its record: ${rebuildStateFile(lab.root, persona.name)})`,
      });
    }
    if (!previous && args.resume) {
      throw new LabError({ code: 'LAB_REBUILD_NOTHING_TO_RESUME', summary: `no interrupted rebuild of ${persona.name} to resume`, hint: `start one: lab rebuild --persona ${persona.name}` });
    }
    if (persona.persona.vm.protection && !args.unprotect && !previous?.done.includes('destroy')) {
      throw new LabError({
        code: 'LAB_REBUILD_PROTECTED',
        summary: `${persona.name} is protected (vm.protection: true): its VM cannot be destroyed`,
        hint: `rebuild it anyway with --unprotect (protection is cleared on the old VM only; the new one gets it from intent): lab rebuild --persona ${persona.name} --unprotect`,
      });
    }
    const state: RebuildState = previous ?? { persona: persona.name, startedAt: new Date().toISOString(), done: [] };
    const steps = planRebuild(persona, state);
    if (ctx.json) ctx.io.out(JSON.stringify({ persona: persona.name, steps }, null, 2));
    else {
      ctx.io.err(`Rebuild of ${persona.name}${previous ? ' (resumed)' : ''}:`);
      steps.forEach((s, i) => ctx.io.err(`  ${String(i + 1).padStart(2)}. ${s.run ? ' ' : '-'} ${s.step.padEnd(13)} ${s.what}`));
    }
    await confirm(ctx, `Rebuild ${persona.name}?`, args.yes);
    const started = new Date();
    try {
      const done = await runRebuild({ lab, persona, reporter: ctx.reporter, ports: rebuildPorts(), unprotect: args.unprotect, allowReboot: args['allow-reboot'] }, state);
      await clearRebuildState(lab.root, persona.name);
      await recordRun(lab.root, { command: 'rebuild', personas: [persona.name], result: 'ok', startedAt: started, durationMs: Date.now() - started.getTime(), details: { snapshot: done.snapshot ?? null, archive: done.archive ?? null } });
      ctx.io.err(`Rebuilt ${persona.name} in ${Math.round((Date.now() - started.getTime()) / 1000)} s${done.snapshot ? `; data restored from snapshot ${done.snapshot}` : ''}`);
      return ExitCode.Ok;
    } catch (error) {
      const e = error instanceof LabError ? error : undefined;
      await recordRun(lab.root, { command: 'rebuild', personas: [persona.name], result: 'failed', startedAt: started, durationMs: Date.now() - started.getTime(), error: { code: e?.code ?? 'LAB_INTERNAL', summary: e?.summary ?? String(error) } });
      throw error;
    }
  },
});
