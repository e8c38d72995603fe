import { defineCommand } from 'citty';
import { ExitCode, LabError, toLabError } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { checkDrift, createLayerContext, driftOrphans, DRIFT_FORMATS, DRIFT_LAYERS, driftDetails, type DriftFormat, type DriftLayer, guestReach, LAB_VERSION, type PersonaDrift, recordRun, renderReport, selectPersonas, summarize } from '@lab/engine';

function formatOf(args: { readonly format?: string; readonly json?: boolean }): DriftFormat {
  const f = args.format ?? (args.json ? 'json' : 'human');
  if (!(DRIFT_FORMATS as readonly string[]).includes(f)) {
    throw new LabError({ code: 'LAB_CLI_USAGE', summary: `unknown format '${f}'`, hint: `formats: ${DRIFT_FORMATS.join(', ')}` });
  }
  return f as DriftFormat;
}

function layersOf(flag: string | undefined): DriftLayer[] {
  if (!flag) return [...DRIFT_LAYERS];
  const wanted = flag.split(',').map((s) => s.trim().toLowerCase());
  const bad = wanted.filter((w) => !(DRIFT_LAYERS as readonly string[]).includes(w));
  if (bad.length > 0) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `lab drift compares ${DRIFT_LAYERS.join(', ')}; not ${bad.join(', ')}`, hint: 'L0 and L1 have `lab check --layer l0,l1`' });
  return DRIFT_LAYERS.filter((l) => wanted.includes(l));
}

/** One journal entry per persona, so metrics and `lab log` can say which persona drifted when. */
function journalOf(ctx: CliContext, root: string, layers: readonly DriftLayer[]) {
  return async (r: PersonaDrift, startedAt: Date): Promise<void> => {
    const err = r.layers.find((l) => l.error)?.error;
    try {
      await recordRun(root, {
        command: 'drift',
        personas: [r.persona],
        layers,
        result: err ? 'failed' : 'ok',
        startedAt,
        durationMs: r.durationMs,
        ...(err ? { error: { code: err.code, summary: err.summary } } : {}),
        details: driftDetails(r),
      });
    } catch (error) {
      // The verdict stands even when its record cannot be written.
      ctx.reporter.emit({ type: 'log', level: 'warn', message: `the journal was not written: ${toLabError(error).summary}` });
    }
  };
}

export const driftCommand = defineCommand({
  meta: { name: 'drift', description: 'Compare the VMs, guest OSes and stacks with their intent and change nothing (exit 2 on drift)' },
  args: {
    ...globalArgs,
    persona: { type: 'string', description: 'Only these personas (comma-separated); default: every persona', valueHint: 'name' },
    all: { type: 'boolean', description: 'Every persona (the default)', default: false },
    layer: { type: 'string', description: `Only these layers (default: ${DRIFT_LAYERS.join(',')})`, valueHint: 'layers' },
    format: { type: 'string', description: `Report format on stdout: ${DRIFT_FORMATS.join(', ')} (--json is json)`, valueHint: 'format' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const format = formatOf(args);
    const layers = layersOf(args.layer);
    const lab = await loadLab(ctx.root());
    const personas = selectPersonas(lab, args.persona, args.all, false);
    const checkedAt = new Date();
    const session = createLayerContext(lab, personas, ctx.reporter, { allowReboot: false, destroyData: false, targets: [] });
    try {
      const reach = layers.some((l) => l !== 'l2') ? await guestReach(lab) : { ok: true };
      const results = await checkDrift(session, { layers, reach, onPersona: journalOf(ctx, lab.root, layers) });
      // Orphans are lab-wide: looked for when the whole lab's L2 is checked and could be read.
      const orphans = !args.persona && layers.includes('l2') && results.every((r) => r.layers.find((l) => l.layer === 'l2')?.verdict !== 'error') ? await driftOrphans(session) : [];
      const report = summarize(results, LAB_VERSION, checkedAt, orphans);
      ctx.io.out(renderReport(report, format));
      if (report.verdict === 'error') return ExitCode.Error;
      return report.verdict === 'drifted' ? ExitCode.Changes : ExitCode.Ok;
    } finally {
      await session.close();
    }
  },
});
