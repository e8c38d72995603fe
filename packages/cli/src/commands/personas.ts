import { defineCommand } from 'citty';
import { ExitCode } from '@lab/core';
import { formatDuration, formatSize, loadLab, type LoadedPersona } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { describeExpiry, expiryOf, labStandIns, readJournal, type Expiry, type JournalEntry, type StandInUse } from '@lab/engine';

interface Row {
  readonly name: string;
  readonly lifecycle: string;
  readonly ttl: string | undefined;
  readonly node: string;
  readonly image: string;
  readonly cores: number;
  readonly memory: string;
  readonly workloads: readonly string[];
  /** Services that run stand-in images when pushed from this workstation (adr/0151). */
  readonly standIns: readonly StandInUse[];
  readonly description: string;
  /** Experimental personas with a ttl: when their VM was created (journal) and when they expire. */
  readonly createdAt?: string | null;
  readonly expiresAt?: string | null;
  readonly expired?: boolean;
  readonly expiry?: string;
}

function expiryFields(e: Expiry, now: Date): Partial<Row> {
  if (e.stage !== 'experimental' || e.ttlSeconds === undefined) return {};
  return {
    createdAt: e.vm.state === 'created' ? e.vm.at.toISOString() : null,
    expiresAt: e.expiresAt?.toISOString() ?? null,
    expired: e.expired,
    ...(describeExpiry(e, now) ? { expiry: describeExpiry(e, now) } : {}),
  };
}

function row(p: LoadedPersona, entries: readonly JournalEntry[], now: Date, standIns: readonly StandInUse[]): Row {
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
    standIns,
    description: persona.description,
    ...expiryFields(expiryOf(p, entries, now), now),
  };
}

/** Plain aligned columns: readable in a terminal, greppable, no table library needed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export const personasCommand = defineCommand({
  meta: { name: 'personas', description: 'List personas: lifecycle (age and expiry of experimental ones), node, image, size, workloads' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const [lab, journal] = await Promise.all([loadLab(ctx.root()), readJournal(ctx.root())]);
    const now = new Date();
    const standIns = await labStandIns(lab);
    const rows = lab.personas.map((p, i) => row(p, journal.entries, now, standIns[i]!));
    if (ctx.json) {
      ctx.io.out(JSON.stringify(rows, null, 2));
      return ExitCode.Ok;
    }
    ctx.io.out(
      renderTable(
        ['NAME', 'LIFECYCLE', 'NODE', 'IMAGE', 'CPU', 'MEMORY', 'WORKLOADS'],
        rows.map((r) => [
          r.name,
          r.expiry ? `${r.lifecycle} (${r.expiry})` : r.ttl ? `${r.lifecycle} (ttl ${r.ttl})` : r.lifecycle,
          r.node,
          r.image,
          String(r.cores),
          r.memory,
          (r.workloads.join(', ') || '-') + (r.standIns.length ? `  [STAND-INS: ${[...new Set(r.standIns.map((u) => `${u.service} for ${u.standInFor}`))].join(', ')}]` : ''),
        ]),
      ),
    );
    return ExitCode.Ok;
  },
});
