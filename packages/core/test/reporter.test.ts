import { describe, expect, it } from 'vitest';
import {
  Secret,
  createHumanReporter,
  createMemoryReporter,
  createNdjsonReporter,
  fanout,
  runStep,
} from '../src/index.js';

function sink(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

describe('Reporter', () => {
  it('runStep reports start and end with status and duration, and rethrows failures', async () => {
    const mem = createMemoryReporter();
    await runStep(mem, 'install htop', async (progress) => {
      progress('apt-get install', 50);
      return 1;
    });
    await expect(runStep(mem, 'broken', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const types = mem.events.map((e) => e.type);
    expect(types).toEqual(['step.start', 'step.progress', 'step.end', 'step.start', 'step.end']);
    const last = mem.events.at(-1)!;
    expect(last).toMatchObject({ type: 'step.end', status: 'failed', message: 'boom' });
  });

  it('NDJSON renderer writes one timed JSON object per line with secrets masked', () => {
    const out = sink();
    const r = createNdjsonReporter(out.stream, () => new Date(0));
    r.emit({ type: 'log', level: 'info', message: 'hello' });
    r.emit({ type: 'plan', plan: { changes: [{ after: new Secret('pw-123456') }] } as never });
    const lines = out.text().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ time: '1970-01-01T00:00:00.000Z', type: 'log', level: 'info', message: 'hello' });
    expect(out.text()).not.toContain('pw-123456');
  });

  it('human renderer prints finished steps, grouped lines, diagnostics with hints, no colour off-TTY', async () => {
    const out = sink(false);
    const r = createHumanReporter({ stream: out.stream });
    await runStep(r, 'converge', async () => undefined, { group: 'media' });
    r.emit({
      type: 'diagnostic',
      diagnostic: {
        severity: 'error',
        code: 'LAB_INTENT_INVALID',
        summary: 'expected a size like "8GiB", got "lots"',
        path: 'vm.memory',
        source: { file: 'personas/media/persona.yaml', line: 14, column: 7 },
        hint: 'write the memory as a size, e.g. memory: 8GiB',
      },
    });
    r.close();
    const text = out.text();
    expect(text).toMatch(/✓ \[media\] converge \(\d+ms\)/);
    expect(text).toContain('error: personas/media/persona.yaml:14:7 vm.memory: expected a size like "8GiB", got "lots"');
    expect(text).toContain('hint: write the memory as a size');
    expect(text).not.toContain('\x1b[');
  });

  it('fanout delivers to every reporter', () => {
    const a = createMemoryReporter();
    const b = createMemoryReporter();
    fanout(a, b).emit({ type: 'phase', name: 'plan' });
    expect(a.events).toHaveLength(1);
    expect(b.events).toHaveLength(1);
  });
});
