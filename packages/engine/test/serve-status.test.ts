import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../src/journal/entry.js';
import { ago, drillLimitDays, layerCell } from '../src/serve/status.js';
import { esc, html, raw } from '../src/serve/html.js';

const entry = (over: Partial<JournalEntry>): JournalEntry => ({
  v: 1,
  time: '2026-03-01T10:00:00.000Z',
  operator: 't',
  git: null,
  labVersion: 't',
  command: 'apply',
  personas: ['media'],
  layers: ['l2'],
  changes: [],
  result: 'ok',
  durationMs: 1000,
  ...over,
});

describe('status grid cells from the journal (pure)', () => {
  it('never applied without a run; converged after an apply; the newest run wins', () => {
    expect(layerCell([], 'media', 'l2')).toMatchObject({ state: 'never' });
    const applied = entry({});
    expect(layerCell([applied], 'media', 'l2')).toMatchObject({ state: 'converged', at: new Date('2026-03-01T10:00:01.000Z'), source: 'journal: apply' });
    const failed = entry({ time: '2026-03-02T10:00:00.000Z', result: 'failed', error: { code: 'LAB_L2_TASK', summary: 'x' } });
    expect(layerCell([failed, applied], 'media', 'l2')).toMatchObject({ state: 'failed', code: 'LAB_L2_TASK' });
  });

  it('a drift run shows the drifted addresses of that layer, or the persona count when the run kept no changes', () => {
    const withChanges = entry({ command: 'drift', layers: ['l2', 'l3'], changes: [{ address: 'media/l3/file[/etc/x]', action: 'update', impact: 'none' }, { address: 'media/l3/apt.package[htop]', action: 'create', impact: 'none' }] });
    expect(layerCell([withChanges], 'media', 'l3')).toMatchObject({ state: 'drift', count: 2 });
    expect(layerCell([withChanges], 'media', 'l2')).toMatchObject({ state: 'converged' });
    expect(layerCell([entry({ command: 'drift', details: { drifted: 3 } })], 'media', 'l2')).toMatchObject({ state: 'drift', count: 3 });
  });

  it('site layers count site-wide runs for every persona; other personas\' runs do not count; a destroy leaves nothing', () => {
    expect(layerCell([entry({ personas: [], layers: ['l0'] })], 'media', 'l0')).toMatchObject({ state: 'converged' });
    expect(layerCell([entry({ personas: ['edge'] })], 'media', 'l2')).toMatchObject({ state: 'never' });
    expect(layerCell([entry({ command: 'destroy' })], 'media', 'l2')).toMatchObject({ state: 'never', source: 'journal: destroy' });
    expect(layerCell([entry({ result: 'partial' })], 'media', 'l2')).toMatchObject({ state: 'pending' });
  });

  it('restore drill limits follow the calendar; ages read as people say them', () => {
    expect([drillLimitDays('daily'), drillLimitDays('weekly'), drillLimitDays('Sun 03:00'), drillLimitDays('monthly'), drillLimitDays('*-*-01 04:00')]).toEqual([1, 7, 7, 31, 31]);
    const now = new Date('2026-03-10T00:00:00Z');
    expect([ago(undefined, now), ago(new Date('2026-03-09T23:59:30Z'), now), ago(new Date('2026-03-09T22:00:00Z'), now), ago(new Date('2026-03-07T00:00:00Z'), now)]).toEqual(['never', '30 s ago', '2 h ago', '3 d ago']);
  });

  it('the template tag escapes every interpolation unless raw', () => {
    expect(esc(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
    expect(html`<p title="${'"><script>'}">${['<b>', raw('<i>ok</i>')]}</p>`.html).toBe('<p title="&quot;&gt;&lt;script&gt;">&lt;b&gt;<i>ok</i></p>');
  });
});
