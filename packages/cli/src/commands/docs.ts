import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { diffDocs, DOCS_DIR, generateDocs, readJournal, writeDocs } from '@lab/engine';

export const docsCommand = defineCommand({
  meta: { name: 'docs', description: `Generate ${DOCS_DIR}/ (inventory, network, one page per persona) from intent and journal; --check for CI` },
  args: {
    ...globalArgs,
    check: { type: 'boolean', description: 'Write nothing; exit 2 and name the stale files when the committed docs differ', default: false },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const root = ctx.root();
    const [lab, journal] = await Promise.all([loadLab(root), readJournal(root)]);
    for (const s of journal.skipped) ctx.reporter.emit({ type: 'log', level: 'warn', message: `journal line skipped: ${s}` });
    const docs = await generateDocs(lab, journal.entries);
    const diff = args.check ? await diffDocs(root, docs) : await writeDocs(root, docs);
    const stale = [...diff.changed, ...diff.orphaned];
    if (ctx.json) ctx.io.out(JSON.stringify({ check: args.check, files: docs.map((d) => d.path), changed: diff.changed, orphaned: diff.orphaned }, null, 2));
    if (args.check) {
      if (stale.length === 0) {
        ctx.io.err(`✓ ${DOCS_DIR}/ is up to date (${docs.length} files)`);
        return ExitCode.Ok;
      }
      for (const p of diff.changed) ctx.io.err(`stale: ${p}`);
      for (const p of diff.orphaned) ctx.io.err(`orphaned: ${p}`);
      ctx.io.err(`${stale.length} generated file(s) out of date: run \`lab docs\` and commit ${DOCS_DIR}/`);
      return ExitCode.Changes;
    }
    for (const p of diff.changed) ctx.io.err(`wrote ${p}`);
    for (const p of diff.orphaned) ctx.io.err(`removed ${p}`);
    ctx.io.err(stale.length === 0 ? `${DOCS_DIR}/ was already up to date (${docs.length} files)` : `${DOCS_DIR}/: ${diff.changed.length} written, ${diff.orphaned.length} removed, ${docs.length - diff.changed.length} unchanged`);
    return ExitCode.Ok;
  },
});
