import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { formatDuration, loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { expiryOf, readJournal, reapVerdict } from '@lab/engine';
import { mutateLayers } from '../layer-verbs.js';
import { renderTable } from './personas.js';

/**
 * `lab reap`: destroy experimental personas whose TTL ran out, through the destroy path of
 * `lab destroy` (`mutateLayers`), over every layer unless --layer (last first, data kept unless
 * --destroy-data). Stable personas and VMs with `protection: true` are never candidates
 * (adr/0113-ephemeral-personas.md).
 */
export const reapCommand = defineCommand({
  meta: { name: 'reap', description: 'Destroy experimental personas whose ttl has run out (never stable or protected ones)' },
  args: {
    ...globalArgs,
    'dry-run': { type: 'boolean', description: 'Only list what would be reaped (exit 2 when something would be)', default: false },
    yes: { type: 'boolean', alias: 'y', description: 'Do not ask for confirmation', default: false },
    'destroy-data': { type: 'boolean', description: 'Also delete persistent data disks and volumes', default: false },
    layer: { type: 'string', description: 'Only these layers (default: every layer, as lab destroy)', valueHint: 'layers' },
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

    return mutateLayers(ctx, { persona: doomed.join(','), ...(args.layer ? { layer: args.layer } : {}), 'destroy-data': args['destroy-data'] }, {
      command: 'reap',
      mode: 'destroy',
      question: `Destroy the expired persona(s) ${doomed.join(', ')}?`,
      yes: args.yes,
      details: { reaped: doomed.length },
      journalNoop: true,
      done: () => ctx.io.err(`Reaped: ${doomed.join(', ')}`),
    });
  },
});
