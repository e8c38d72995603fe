import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHumanReporter, createNdjsonReporter, runStep } from '../src/index.js';
import { liveLines } from '../src/reporter/_live.js';
import { RunningSteps } from '../src/reporter/_running.js';

function sink(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns, rows: 30, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

/** What a terminal shows after these writes: `\r`, erase-line and cursor-up applied. */
function screen(text: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  for (let i = 0; i < text.length; i++) {
    const rest = text.slice(i);
    const esc = /^\x1b\[(\d*)([A-Za-z])/.exec(rest);
    if (esc) {
      if (esc[2] === 'A') row = Math.max(0, row - Number(esc[1] || 1));
      if (esc[2] === 'K') rows[row] = '';
      i += esc[0].length - 1;
      continue;
    }
    const ch = text[i]!;
    if (ch === '\r') continue; // every \r here is followed by an erase of the line
    if (ch === '\n') {
      row += 1;
      rows[row] ??= '';
      continue;
    }
    rows[row] += ch;
  }
  return rows.filter((r, i) => r !== '' || i < rows.length - 1);
}

describe('live progress (fake timers)', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  it('TTY: one live line per persona, rewritten in place, with apt progress and elapsed time; finished steps scroll above', async () => {
    const out = sink(true, 120);
    const r = createHumanReporter({ stream: out.stream, color: false });
    r.emit({ type: 'step.start', id: 'a', title: 'apt.packages: docker.io, nftables', group: 'edge' });
    r.emit({ type: 'step.start', id: 'b', title: 'apt.packages: prometheus', group: 'monitoring' });
    r.emit({ type: 'step.start', id: 'c', title: 'gather facts', group: 'media' });
    r.emit({ type: 'step.progress', id: 'a', message: 'apt: Unpacking docker.io', percent: 42.7 });
    vi.advanceTimersByTime(65_000);
    r.emit({ type: 'step.progress', id: 'b', message: 'apt: downloading, retrieving file 3 of 12', percent: 20 });
    r.emit({ type: 'step.end', id: 'c', status: 'ok', durationMs: 65_000 });
    vi.advanceTimersByTime(1_000);
    const view = screen(out.text());
    expect(view).toEqual([
      '✓ [media] gather facts (1m5s)',
      expect.stringMatching(/^. \[edge\] apt\.packages: docker\.io, nftables — apt: Unpacking docker\.io 42% · 1m06s$/),
      expect.stringMatching(/^. \[monitoring\] apt\.packages: prometheus — apt: downloading, retrieving file 3 of 12 20% · 1m06s$/),
    ]);
    r.emit({ type: 'step.end', id: 'a', status: 'ok', durationMs: 66_000 });
    r.emit({ type: 'step.end', id: 'b', status: 'failed', durationMs: 66_000, message: 'boom' });
    r.close();
    expect(screen(out.text())).toEqual(['✓ [media] gather facts (1m5s)', '✓ [edge] apt.packages: docker.io, nftables (1m6s)', '✗ [monitoring] apt.packages: prometheus (1m6s)', '    boom']);
  });

  it('TTY: a terminal that reports no size (0x0 pty) still gets a line per persona', () => {
    const chunks: string[] = [];
    const r = createHumanReporter({ stream: { isTTY: true, columns: 0, rows: 0, write: (t: string) => chunks.push(t) }, color: false });
    r.emit({ type: 'step.start', id: 'a', title: 'gather facts', group: 'edge' });
    r.emit({ type: 'step.start', id: 'b', title: 'gather facts', group: 'media' });
    vi.advanceTimersByTime(100);
    expect(screen(chunks.join(''))).toEqual([expect.stringMatching(/^. \[edge\] gather facts$/), expect.stringMatching(/^. \[media\] gather facts$/)]);
    r.close();
  });

  it('TTY: lines never wrap, and many personas fold into "… and n more"', () => {
    const running = new RunningSteps(() => 0);
    for (let i = 0; i < 12; i++) running.track({ type: 'step.start', id: `s${i}`, title: `a very long step title that goes on and on ${'x'.repeat(80)}`, group: `p${i}` });
    const lines = liveLines(running.groups(), 0, 0, (_c, t) => t, { columns: 60, maxLines: 8 });
    expect(lines).toHaveLength(8);
    expect(lines.every((l) => [...l].length <= 59)).toBe(true);
    expect(lines.at(-1)).toBe('  … and 5 more: p7, p8, p9, p10, p11');
  });

  it('TTY: a persona running two steps shows its newest, with (+1)', () => {
    const running = new RunningSteps(() => 0);
    running.track({ type: 'step.start', id: 'a', title: 'wait for SSH and cloud-init', group: 'edge' });
    running.track({ type: 'step.start', id: 'b', title: 'gather facts', group: 'edge' });
    expect(liveLines(running.groups(), 0, 0, (_c, t) => t, { columns: 80, maxLines: 8 })).toEqual(['⠋ [edge] gather facts (+1)']);
  });

  it('not a TTY: a progress line per busy persona at least every 10 s, never more than once in 8 s, nothing for quick steps', async () => {
    const out = sink(false);
    const r = createHumanReporter({ stream: out.stream });
    await runStep(r, 'quick', async () => undefined, { group: 'edge' });
    r.emit({ type: 'step.start', id: 'a', title: 'apt.packages: docker.io', group: 'edge' });
    r.emit({ type: 'step.start', id: 'b', title: 'health gate', group: 'media' });
    r.emit({ type: 'step.progress', id: 'a', message: 'apt: Unpacking docker.io', percent: 42 });
    vi.advanceTimersByTime(5_000);
    r.emit({ type: 'step.progress', id: 'b', message: 'waiting 5s: web=running/starting' });
    const times: number[] = [];
    const before = out.chunks.length;
    for (let t = 0; t < 60_000; t += 500) {
      const n = out.chunks.length;
      vi.advanceTimersByTime(500);
      for (const c of out.chunks.slice(n)) if (c.includes('[edge]')) times.push(Date.now());
    }
    const lines = out.chunks.slice(before).join('');
    expect(lines).toContain('… [edge] apt.packages: docker.io — apt: Unpacking docker.io 42% · ');
    expect(lines).toContain('… [media] health gate — waiting 5s: web=running/starting · ');
    const gaps = times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]!));
    expect(gaps.every((g) => g <= 10_000 && g >= 8_000)).toBe(true);
    expect(times.length).toBeGreaterThanOrEqual(6);
    r.emit({ type: 'step.end', id: 'a', status: 'ok', durationMs: 65_000 });
    r.emit({ type: 'step.end', id: 'b', status: 'ok', durationMs: 65_000 });
    const done = out.chunks.length;
    vi.advanceTimersByTime(60_000);
    expect(out.chunks.length).toBe(done);
    expect(out.text()).not.toContain('\x1b[');
    r.close();
  });

  it('NDJSON: progress events as they come, and a heartbeat with elapsedMs after 10 s of quiet', () => {
    const out = sink(false);
    const r = createNdjsonReporter(out.stream, () => new Date(Date.now()));
    r.emit({ type: 'step.start', id: 'a', title: 'apt.packages: docker.io', group: 'edge' });
    r.emit({ type: 'step.progress', id: 'a', message: 'apt: Unpacking docker.io', percent: 42 });
    vi.advanceTimersByTime(15_000);
    r.emit({ type: 'step.end', id: 'a', status: 'ok', durationMs: 15_000 });
    vi.advanceTimersByTime(30_000);
    r.close();
    const events = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e['type'])).toEqual(['step.start', 'step.progress', 'step.progress', 'step.end']);
    expect(events[2]).toMatchObject({ type: 'step.progress', id: 'a', message: 'apt: Unpacking docker.io', percent: 42 });
    expect(events[2]!['elapsedMs']).toBeGreaterThanOrEqual(8_000);
    expect(events[2]!['elapsedMs']).toBeLessThanOrEqual(10_000);
  });
});
