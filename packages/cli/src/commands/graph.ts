import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { renderGraph } from '@lab/engine';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';

export const graphCommand = defineCommand({
  meta: { name: 'graph', description: 'Personas → layers as a Mermaid flowchart' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const mermaid = renderGraph(lab);
    ctx.io.out(ctx.json ? JSON.stringify({ mermaid }, null, 2) : mermaid);
    return ExitCode.Ok;
  },
});
