import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { formatDuration, formatSize, loadLab, type LoadedPersona } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';

interface Row {
  readonly name: string;
  readonly lifecycle: string;
  readonly ttl: string | undefined;
  readonly node: string;
  readonly image: string;
  readonly cores: number;
  readonly memory: string;
  readonly workloads: readonly string[];
  readonly description: string;
}

function row(p: LoadedPersona): Row {
  const { persona } = p;
  return {
    name: p.name,
    lifecycle: persona.lifecycle.stage,
    ttl: persona.lifecycle.ttl === undefined ? undefined : formatDuration(persona.lifecycle.ttl),
    node: persona.vm.node,
    image: `${persona.vm.image.name}@${persona.vm.image.version}`,
    cores: persona.vm.cores,
    memory: formatSize(persona.vm.memory),
    workloads: persona.workloads.stacks.map((s) => s.name),
    description: persona.description,
  };
}

/** Plain aligned columns: readable in a terminal, greppable, no table library needed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export const personasCommand = defineCommand({
  meta: { name: 'personas', description: 'List personas: lifecycle, node, image, size, workloads' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const lab = await loadLab(ctx.root());
    const rows = lab.personas.map(row);
    if (ctx.json) {
      ctx.io.out(JSON.stringify(rows, null, 2));
      return ExitCode.Ok;
    }
    ctx.io.out(
      renderTable(
        ['NAME', 'LIFECYCLE', 'NODE', 'IMAGE', 'CPU', 'MEMORY', 'WORKLOADS'],
        rows.map((r) => [
          r.name,
          r.ttl ? `${r.lifecycle} (ttl ${r.ttl})` : r.lifecycle,
          r.node,
          r.image,
          String(r.cores),
          r.memory,
          r.workloads.join(', ') || '-',
        ]),
      ),
    );
    return ExitCode.Ok;
  },
});
