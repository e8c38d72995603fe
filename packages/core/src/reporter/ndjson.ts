import type { Reporter, ReporterEvent } from './events.js';
import { RunningSteps } from './_running.js';

export interface WritableLike {
  write(chunk: string): unknown;
}

export interface NdjsonReporterOptions {
  /**
   * A running step that emitted nothing for this long gets a heartbeat: its last
   * `step.progress` again, with `elapsedMs` (default 10 s; 0 turns heartbeats off).
   */
  readonly heartbeatMs?: number;
}

/**
 * One JSON object per line, each with a `time`. `Secret` values serialise as `***` through
 * their toJSON, so a machine-readable stream can never carry plaintext. While steps run, each
 * shows a sign of life at least every `heartbeatMs` (adr/0156).
 */
export function createNdjsonReporter(stream: WritableLike, now: () => Date = () => new Date(), options: NdjsonReporterOptions = {}): Reporter {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const running = new RunningSteps(() => now().getTime());
  let timer: NodeJS.Timeout | undefined;
  const write = (event: ReporterEvent) => {
    try {
      stream.write(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`);
    } catch {
      // A closed pipe must not break an apply; the journal keeps the record.
    }
  };
  const beat = () => {
    const t = now().getTime();
    for (const g of running.groups()) {
      for (const s of g.steps) {
        if (t - s.lastShown < heartbeatMs * 0.8) continue;
        s.lastShown = t;
        write({ type: 'step.progress', id: s.id, message: s.message ?? s.title, ...(s.percent === undefined ? {} : { percent: s.percent }), elapsedMs: t - s.started });
      }
    }
  };
  return {
    emit(event) {
      const s = running.track(event);
      if (s) s.lastShown = now().getTime();
      write(event);
      if (heartbeatMs > 0 && running.size > 0 && !timer) {
        timer = setInterval(beat, heartbeatMs / 5);
        timer.unref?.();
      } else if (running.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
    close: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
