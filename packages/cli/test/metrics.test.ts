import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLab, type Lab } from '@lab/intent';
import { beginRun, readJournal } from '@lab/engine';
import { address, LabError, silentReporter } from '@lab/core';
import { METRIC_NAMES, renderMetrics } from '@lab/engine';
import { LAB_VERSION } from '@lab/engine';
import { lab, WORKSPACE } from './_harness.js';
import { intentCopy, record } from './_journal.js';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(\\{${LABEL}(?:,${LABEL})*\\})? (-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|NaN|[+-]Inf)$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * The text exposition format 0.0.4, checked line by line (the parser below is lenient): every
 * line is a HELP, a TYPE, a sample or blank; each family's HELP and TYPE come before its
 * samples, which are contiguous; no series twice; a final newline.
 */
function assertExposition(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  const typed = new Set<string>();
  const helped = new Set<string>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const h = HELP.exec(line);
    const t = TYPE.exec(line);
    const s = SAMPLE.exec(line);
    expect(h ?? t ?? s, `not a valid exposition line: ${JSON.stringify(line)}`).not.toBeNull();
    const name = (h ?? t ?? s)![1]!;
    if (name !== current) {
      if (current !== undefined) closed.add(current);
      expect(closed.has(name), `family ${name} is split`).toBe(false);
      current = name;
    }
    if (h) {
      expect(typed.has(name), `HELP after TYPE for ${name}`).toBe(false);
      helped.add(name);
    } else if (t) typed.add(name);
    else {
      expect(helped.has(name) && typed.has(name), `sample before HELP/TYPE: ${line}`).toBe(true);
      const key = `${name}${s![2] ?? ''}`;
      expect(series.has(key), `duplicate series ${key}`).toBe(false);
      series.add(key);
    }
  }
}

function values(families: readonly MetricFamily[], name: string): Record<string, number> {
  const f = families.find((x) => x.name === name);
  expect(f, name).toBeDefined();
  return Object.fromEntries(f!.metrics.map((m) => [m.labels?.['persona'] ?? '', Number(m.value)]));
}

const at = (iso: string) => new Date(iso);
const sec = (iso: string, plusSeconds = 0) => at(iso).getTime() / 1000 + plusSeconds;

let root: string;
let l: Lab;
beforeAll(async () => {
  root = intentCopy();
  l = await loadLab(root);
  await record(root, { command: 'apply', personas: ['media'], result: 'ok', at: at('2026-03-01T10:00:00Z'), durationMs: 90_000 });
  await record(root, { command: 'apply', personas: ['media'], result: 'failed', at: at('2026-03-05T10:00:00Z'), durationMs: 30_500, error: { code: 'LAB_X', summary: 'x' } });
  await record(root, { command: 'up', personas: ['edge'], result: 'ok', at: at('2026-03-02T08:00:00Z'), durationMs: 200_000 });
  await record(root, { command: 'drift', personas: ['media'], layers: ['l2', 'l3', 'l4'], result: 'ok', at: at('2026-03-06T00:00:00Z'), details: { drifted: 3, 'drifted.l2': 0, 'drifted.l3': 3, 'drifted.l4': 0 } });
  await record(root, { command: 'drift', personas: ['edge'], layers: ['l2', 'l3'], result: 'ok', at: at('2026-03-07T00:00:00Z'), details: { drifted: 1, 'drifted.l2': 1, 'drifted.l3': 0 } });
  await record(root, { command: 'drift', personas: ['monitoring'], layers: ['l2'], result: 'ok', at: at('2026-03-07T00:00:00Z'), details: { drifted: 0, 'drifted.l2': 0 } });
  await record(root, { command: 'drift', personas: ['media'], result: 'failed', at: at('2026-03-08T00:00:00Z'), error: { code: 'LAB_SSH_UNREACHABLE', summary: 'x' } });
  // A later check of L2 only: it measures L2 and says nothing of media's L3 drift.
  await record(root, { command: 'drift', personas: ['media'], layers: ['l2'], result: 'ok', at: at('2026-03-09T00:00:00Z'), details: { drifted: 0, 'drifted.l2': 0 } });
  // One run over edge and tinker that failed on tinker: edge's last apply is still its success.
  await record(root, { command: 'up', personas: ['edge', 'tinker'], result: 'failed', at: at('2026-03-10T00:00:00Z'), durationMs: 5_000, error: { code: 'LAB_UP_FAILED', summary: 'x' }, details: { failedPersonas: 'tinker' } });
  await record(root, { command: 'capture', personas: ['identity'], result: 'ok', at: at('2026-03-07T00:00:00Z'), durationMs: 60_000 });
  await record(root, { command: 'capture', personas: ['media'], result: 'failed', at: at('2026-03-07T03:30:00Z') });
  await record(root, { command: 'verify', personas: ['media'], result: 'ok', at: at('2026-03-07T05:00:00Z'), durationMs: 10_000, details: { verified: true } });
  await record(root, { command: 'verify', personas: ['identity'], result: 'ok', at: at('2026-03-07T06:00:00Z'), details: { verified: false } });
});

describe('lab metrics', () => {
  it('is valid text exposition with exactly the documented gauges, HELP and TYPE', async () => {
    const text = await renderMetrics(l, (await readJournal(root)).entries, LAB_VERSION);
    assertExposition(text);
    const families = parsePrometheusTextFormat(text);
    expect(families.map((f) => f.name)).toEqual([...METRIC_NAMES]);
    // The names are a contract (adr/0112): the monitoring persona's alert rules and dashboard
    // are written against them, so a rename here would silence an alert there.
    const used = ['config/lab-rules.yml', 'config/grafana/dashboards/lab-overview.json'].flatMap((f) => readFileSync(join(WORKSPACE, 'personas/monitoring', f), 'utf8').match(/\blab_[a-z_]+/g) ?? []);
    expect(used.length).toBeGreaterThan(0);
    expect(METRIC_NAMES).toEqual(expect.arrayContaining([...new Set(used)]));
    for (const f of families) {
      expect(f.type).toBe('GAUGE');
      expect(f.help.length).toBeGreaterThan(10);
    }
    expect(families[0]!.metrics).toEqual([{ value: '1', labels: { version: LAB_VERSION } }]);
  });

  it('takes each value from the journal: last apply (any result), drift, verified restores, successful captures', async () => {
    const families = parsePrometheusTextFormat(await renderMetrics(l, (await readJournal(root)).entries, LAB_VERSION));
    expect(values(families, 'lab_last_apply_timestamp_seconds')).toEqual({ media: sec('2026-03-05T10:00:00Z', 30.5), edge: sec('2026-03-02T08:00:00Z', 200), tinker: sec('2026-03-10T00:00:00Z', 5) });
    expect(values(families, 'lab_last_apply_success')).toEqual({ media: 0, edge: 1, tinker: 0 });
    expect(values(families, 'lab_last_apply_duration_seconds')).toEqual({ media: 30.5, edge: 200, tinker: 5 });
    // Per persona and layer, each from the last check that looked at that layer, with its time;
    // the failed drift check of media does not replace the last completed one.
    const byLayer = (name: string) => Object.fromEntries(families.find((f) => f.name === name)!.metrics.map((m) => [`${m.labels!['persona']}/${m.labels!['layer']}`, Number(m.value)]));
    expect(byLayer('lab_drift_changes')).toEqual({ 'media/l2': 0, 'media/l3': 3, 'media/l4': 0, 'edge/l2': 1, 'edge/l3': 0, 'monitoring/l2': 0 });
    expect(byLayer('lab_drift_check_timestamp_seconds')).toEqual({
      'media/l2': sec('2026-03-09T00:00:00Z', 1),
      'media/l3': sec('2026-03-06T00:00:00Z', 1),
      'media/l4': sec('2026-03-06T00:00:00Z', 1),
      'edge/l2': sec('2026-03-07T00:00:00Z', 1),
      'edge/l3': sec('2026-03-07T00:00:00Z', 1),
      'monitoring/l2': sec('2026-03-07T00:00:00Z', 1),
    });
    // identity's drill ran but did not verify; a drill is declared, so 0 (never).
    expect(values(families, 'lab_last_verified_restore_timestamp_seconds')).toEqual({ identity: 0, media: sec('2026-03-07T05:00:00Z', 10) });
    // Every persona with capture enabled has a series; tinker declares none.
    expect(values(families, 'lab_backup_last_success_timestamp_seconds')).toEqual({ edge: 0, identity: sec('2026-03-07T00:00:00Z', 60), media: 0, monitoring: 0 });
  });

  it('journals which personas a failed run failed for, from the addresses of its error', async () => {
    const dir = intentCopy();
    const cause = new LabError({ code: 'LAB_L4_HEALTH_FAILED', summary: 'not healthy', address: address('tinker', 'l4', 'apply') });
    await beginRun('up', { root: dir, reporter: silentReporter, personas: ['edge', 'tinker'], layers: ['l4'] }).failed(new LabError({ code: 'LAB_UP_FAILED', summary: 'stopped at L4', cause }));
    const [entry] = (await readJournal(dir)).entries;
    expect(entry).toMatchObject({ result: 'failed', details: { failedPersonas: 'tinker' } });
  });

  it('escapes label values', async () => {
    const version = 'v1 "quoted" \\ back\nslash';
    const text = await renderMetrics(l, [], version);
    assertExposition(text);
    expect(text).toContain('lab_info{version="v1 \\"quoted\\" \\\\ back\\nslash"} 1');
    expect(parsePrometheusTextFormat(text)[0]!.metrics[0]!.labels).toEqual({ version });
  });

  it('prints to stdout, or replaces --out atomically (a new file renamed over the old one, no temp file left)', async () => {
    const stdout = await lab('metrics', '--root', root);
    expect(stdout.code, stdout.stderr).toBe(0);
    assertExposition(stdout.stdout);
    const dir = intentCopy();
    const out = join(dir, 'lab.prom');
    writeFileSync(out, 'old\n');
    const before = statSync(out).ino;
    const r = await lab('metrics', '--root', root, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(stdout.stdout);
    expect(statSync(out).ino).not.toBe(before);
    expect(readdirSync(dir).filter((f) => f.includes('lab.prom'))).toEqual(['lab.prom']);
    const bad = await lab('metrics', '--root', root, '--out', join(dir, 'missing-dir', 'lab.prom'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('LAB_METRICS_WRITE');
  });
});
