import type { ReporterEvent } from './events.js';

/** A step that started and has not ended, as the renderers track it. */
export interface RunningStep {
  readonly id: string;
  readonly title: string;
  readonly group: string | undefined;
  readonly started: number;
  message?: string;
  percent?: number;
  /** Last time anything of this step reached the operator (heartbeats included). */
  lastShown: number;
}

/** One live line's worth: the group (persona) and its running steps, newest last. */
export interface RunningGroup {
  readonly group: string | undefined;
  readonly steps: readonly RunningStep[];
}

/**
 * The running steps of a run, updated from events. Both renderers use it: the human one to
 * draw a line per group (persona) and to print heartbeats off a TTY, the NDJSON one for its
 * heartbeats (adr/0156).
 */
export class RunningSteps {
  private readonly steps = new Map<string, RunningStep>();

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.steps.size;
  }

  get(id: string): RunningStep | undefined {
    return this.steps.get(id);
  }

  /** Apply a step event; returns the step it concerned (for `step.end`, the one removed). */
  track(e: ReporterEvent): RunningStep | undefined {
    const now = this.now();
    switch (e.type) {
      case 'step.start': {
        const s: RunningStep = { id: e.id, title: e.title, group: e.group, started: now, lastShown: now };
        this.steps.set(e.id, s);
        return s;
      }
      case 'step.progress': {
        const s = this.steps.get(e.id);
        if (!s) return undefined;
        s.message = e.message;
        if (e.percent === undefined) delete s.percent;
        else s.percent = e.percent;
        return s;
      }
      case 'step.end': {
        const s = this.steps.get(e.id);
        this.steps.delete(e.id);
        return s;
      }
      default:
        return undefined;
    }
  }

  /** Groups in the order their first running step started; steps oldest first. */
  groups(): RunningGroup[] {
    const by = new Map<string | undefined, RunningStep[]>();
    for (const s of this.steps.values()) {
      const list = by.get(s.group) ?? [];
      list.push(s);
      by.set(s.group, list);
    }
    return [...by].map(([group, steps]) => ({ group, steps }));
  }
}

/** `42%`, `7s`, `1m05s`: compact figures for live lines. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** What a running step is doing, in words: `title — message 42% · 1m05s`. */
export function describeRunning(s: RunningStep, now: number): string {
  const pct = s.percent === undefined ? '' : ` ${Math.floor(s.percent)}%`;
  const msg = s.message ? ` — ${s.message}${pct}` : pct;
  const elapsed = now - s.started;
  return `${s.title}${msg}${elapsed >= 1000 ? ` · ${formatElapsed(elapsed)}` : ''}`;
}
