import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { formatDuration, loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { expiryOf, guestReach, loadLayer, planReap, prepare, readJournal, reapVerdict } from '@lab/engine';
import { drive, recorder } from './up.js';
import { renderTable } from './personas.js';

/**
 * `lab reap`: tear down experimental personas whose TTL ran out — stacks down (L4), the
 * captures their `capture:` asks for, then the VM destroyed (L2), data disks kept unless
 * --destroy-data; nothing is converged on the way (adr/0180). Stable personas and VMs with
 * `protection: true` are never candidates (adr/0113-ephemeral-personas.md).
 */
export const reapCommand = defineCommand({
  meta: { name: 'reap', description: 'Destroy experimental personas whose ttl has run out (never stable or protected ones)' },
  args: {
    ...globalArgs,
    'dry-run': { type: 'boolean', description: 'Only list what would be reaped (exit 2 when something would be)', default: false },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
    'destroy-data': { type: 'boolean', description: 'Also delete persistent data disks and volumes', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const root = ctx.root();
    const [lab, journal] = await Promise.all([loadLab(root), readJournal(root)]);
    const now = new Date();
    const verdicts = lab.personas
      .filter((p) => p.persona.lifecycle.stage === 'experimental')
      .map((p) => {
        const e = expiryOf(p, journal.entries, now);
        return { name: p.name, expiry: e, ...reapVerdict(e, now) };
      });
    const doomed = verdicts.filter((v) => v.reap).map((v) => v.name);
    if (ctx.json && (args['dry-run'] || doomed.length === 0)) {
      ctx.io.out(
        JSON.stringify(
          verdicts.map((v) => ({
            persona: v.name,
            reap: v.reap,
            reason: v.reason,
            createdAt: v.expiry.vm.state === 'created' ? v.expiry.vm.at.toISOString() : null,
            expiresAt: v.expiry.expiresAt?.toISOString() ?? null,
          })),
          null,
          2,
        ),
      );
    } else if (!ctx.json) {
      ctx.io.err(
        verdicts.length === 0
          ? 'No experimental persona in this lab.'
          : renderTable(
              ['PERSONA', 'TTL', 'VERDICT'],
              verdicts.map((v) => [v.name, v.expiry.ttlSeconds === undefined ? '-' : formatDuration(v.expiry.ttlSeconds), `${v.reap ? 'reap' : 'keep'}: ${v.reason}`]),
            ),
      );
    }
    if (doomed.length === 0) {
      if (!ctx.json) ctx.io.err('Nothing to reap.');
      return ExitCode.Ok;
    }
    if (args['dry-run']) {
      if (!ctx.json) ctx.io.err(`Would destroy: ${doomed.join(', ')} (run \`lab reap\` without --dry-run)`);
      return ExitCode.Changes;
    }

    const p = await prepare(ctx, { persona: doomed.join(','), layer: 'l2', 'destroy-data': args['destroy-data'] });
    try {
      const l2 = await loadLayer('l2');
      if (!l2) throw new LabError({ code: 'LAB_LAYER_UNAVAILABLE', summary: 'layer l2 is not part of this version of lab', hint: 'upgrade lab' });
      const reach = await guestReach(p.lab);
      const journal = recorder('reap', ctx, p, ['l4', 'capture', 'l2']);
      const { preview, steps } = await planReap(p, l2, reach);
      const code = await drive(ctx, 'reap', journal, preview, steps, { persona: doomed.join(','), ...(args.root ? { root: args.root } : {}), yes: args.yes }, {
        details: { reaped: doomed.length },
        journalNoop: true,
        question: `Tear down the expired persona(s) ${doomed.join(', ')}?`,
      });
      if (code === ExitCode.Ok && !ctx.json) ctx.io.err(`Reaped: ${doomed.join(', ')}`);
      return code;
    } finally {
      await p.session.close();
    }
  },
});
