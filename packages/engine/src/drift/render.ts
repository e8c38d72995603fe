import { formatValue } from '@lab/core';
import type { DriftField, DriftItem, DriftReport, LayerDrift, OrphanItem, PersonaDrift } from './report.js';

export const DRIFT_FORMATS = ['human', 'json', 'markdown'] as const;
export type DriftFormat = (typeof DRIFT_FORMATS)[number];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function cell(l: LayerDrift): string {
  switch (l.verdict) {
    case 'clean':
      return 'clean';
    case 'drifted':
      return `drifted (${l.drift.length})`;
    case 'missing':
      return 'not created yet';
    case 'skipped':
      return 'not checked';
    case 'error':
      return `error ${l.error?.code ?? ''}`.trim();
  }
}

function field(d: DriftField): string {
  if (d.before === undefined && d.after === undefined) return `${d.path}${d.note ? `: ${d.note}` : ''}`;
  const body = d.before === undefined ? `+ ${d.path}: ${formatValue(d.after)}` : d.after === undefined ? `- ${d.path}: ${formatValue(d.before)}` : `~ ${d.path}: ${formatValue(d.before)} → ${formatValue(d.after)}`;
  return d.note ? `${body}  (${d.note})` : body;
}

const impact = (i: DriftItem) => (i.impact === 'none' ? '' : ` (${i.impact} to repair)`);

/** The headline every format starts with. */
export function headline(r: DriftReport): string {
  const c = r.counts;
  const parts = [
    // "no drift" only when every persona was checked: an unchecked persona may well have drifted.
    c.drifted > 0 ? `${plural(c.drifted, 'drifted change')} on ${plural(c.driftedPersonas, 'persona')}` : c.errors > 0 ? 'drift unknown' : 'no drift',
    ...(c.missingPersonas > 0 ? [`${plural(c.missingPersonas, 'persona')} not created yet`] : []),
    ...(c.errors > 0 ? [`${plural(c.errors, 'persona')} could not be checked`] : []),
    ...(c.orphans > 0 ? [`${plural(c.orphans, 'orphan VM')} (persona no longer in Git)`] : []),
  ];
  return `lab drift: ${parts.join('; ')} (${plural(c.personas, 'persona')} checked)`;
}

/** `orphan VM 140 (tinker2) on pve1, running; data disks kept on destroy: data — destroy it: …` */
function orphanLine(o: OrphanItem): string {
  const data = o.dataDisks.length > 0 ? `; data disk${o.dataDisks.length === 1 ? '' : 's'} ${o.dataDisks.join(', ')} kept unless --destroy-data` : '';
  return `orphan VM ${o.vmid} (${o.persona}) on ${o.node}, ${o.status}: its persona is no longer in Git${data} — \`lab destroy --orphan ${o.vmid}\``;
}

const skipNote = (l: LayerDrift) => `${l.layer.toUpperCase()} not checked: ${l.note ?? ''}`;

/** Reasons every persona shares (the lab has no guests) are said once, not once per persona. */
function sharedSkips(r: DriftReport): Set<string> {
  const count = new Map<string, number>();
  for (const p of r.personas) for (const l of p.layers) if (l.verdict === 'skipped') count.set(skipNote(l), (count.get(skipNote(l)) ?? 0) + 1);
  return new Set([...count].filter(([, n]) => r.personas.length > 1 && n === r.personas.length).map(([k]) => k));
}

function notes(p: PersonaDrift, shared: ReadonlySet<string>): string[] {
  return p.layers.flatMap((l) => [
    ...(l.verdict === 'error' && l.error ? [`${l.layer.toUpperCase()} ${l.error.code}: ${l.error.summary}${l.error.hint ? ` — ${l.error.hint}` : ''}`] : []),
    ...(l.verdict === 'skipped' && !shared.has(skipNote(l)) ? [skipNote(l)] : []),
    ...(l.verdict !== 'skipped' && l.note ? [`${l.layer.toUpperCase()}: ${l.note}`] : []),
    ...l.missing.map((m) => `${m.address} not created yet — \`lab up --persona ${p.persona}\``),
  ]);
}

/** For a terminal: one row per persona, then each drifted change with its fields and file diffs. */
export function renderHuman(r: DriftReport): string {
  const width = Math.max(...r.personas.map((p) => p.persona.length), 8);
  const shared = sharedSkips(r);
  const out = [headline(r), ''];
  for (const p of r.personas) out.push(`  ${p.persona.padEnd(width)}  ${p.layers.map((l) => `${l.layer.toUpperCase()} ${cell(l)}`.padEnd(20)).join(' ').trimEnd()}`);
  for (const p of r.personas) {
    const items = p.layers.flatMap((l) => l.drift);
    const extra = notes(p, shared);
    if (items.length === 0 && extra.length === 0) continue;
    out.push('', `${p.persona}:`);
    for (const i of items) {
      out.push(`~ ${i.address} differs from intent${impact(i)}`);
      if (i.reason) out.push(`    # ${i.reason}`);
      for (const d of i.diff) out.push(`    ${field(d)}`);
      if (i.unifiedDiff) out.push(...i.unifiedDiff.trimEnd().split('\n').map((l) => `      ${l}`));
    }
    for (const n of extra) out.push(`  ${n}`);
  }
  if (shared.size > 0) out.push('', ...[...shared].map((n) => `Every persona: ${n}`));
  if (r.orphans.length > 0) out.push('', 'Orphans:', ...r.orphans.map((o) => `  ${orphanLine(o)}`));
  if (r.counts.drifted > 0) out.push('', 'Repair with `lab up` (or `lab apply --layer <l> --persona <name>`); nothing was changed.');
  return out.join('\n');
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const EMOJI: Record<LayerDrift['verdict'], string> = { clean: '✅', drifted: '⚠️', missing: '➕', skipped: '➖', error: '❌' };

/** For a CI job summary or an issue: a table per persona and layer, then the drift in detail. */
export function renderMarkdown(r: DriftReport): string {
  const layers = [...new Set(r.personas.flatMap((p) => p.layers.map((l) => l.layer)))];
  const shared = sharedSkips(r);
  const out = [`## ${headline(r)}`, '', `| persona | ${layers.map((l) => l.toUpperCase()).join(' | ')} |`, `| --- | ${layers.map(() => '---').join(' | ')} |`];
  for (const p of r.personas) {
    const cells = layers.map((name) => {
      const l = p.layers.find((x) => x.layer === name);
      return l ? `${EMOJI[l.verdict]} ${cell(l)}` : '';
    });
    out.push(`| ${p.persona} | ${cells.join(' | ')} |`);
  }
  for (const p of r.personas) {
    const items = p.layers.flatMap((l) => l.drift);
    const extra = notes(p, shared);
    if (items.length === 0 && extra.length === 0) continue;
    out.push('', `### ${p.persona}`, '');
    for (const i of items) {
      out.push(`- \`${i.address}\` differs from intent${impact(i)}${i.reason ? ` — ${md(i.reason)}` : ''}`);
      for (const d of i.diff) out.push(`  - \`${md(field(d))}\``);
      if (i.unifiedDiff) out.push('', '  <details><summary>diff</summary>', '', '  ```diff', ...i.unifiedDiff.trimEnd().split('\n').map((l) => `  ${l}`), '  ```', '', '  </details>');
    }
    for (const n of extra) out.push(`- ${md(n)}`);
  }
  if (shared.size > 0) out.push('', ...[...shared].map((n) => `- Every persona: ${md(n)}`));
  if (r.orphans.length > 0) out.push('', '### Orphans', '', ...r.orphans.map((o) => `- ${md(orphanLine(o))}`));
  out.push('', `<sub>Checked ${r.checkedAt} by lab ${r.labVersion}. Missing personas and stacks are listed but are not drift; repair drift with \`lab up\`.</sub>`);
  return out.join('\n');
}

export function renderReport(r: DriftReport, format: DriftFormat): string {
  if (format === 'json') return JSON.stringify(r, null, 2);
  return format === 'markdown' ? renderMarkdown(r) : renderHuman(r);
}
