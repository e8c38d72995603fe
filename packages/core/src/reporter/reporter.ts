import type { Reporter, ReporterEvent, StepStatus, TimedEvent } from './events.js';
import type { Address } from '../address.js';

/** Sends every event to each reporter in turn. */
export function fanout(...reporters: readonly Reporter[]): Reporter {
  return {
    emit: (e) => reporters.forEach((r) => r.emit(e)),
    close: () => reporters.forEach((r) => r.close()),
  };
}

/** Keeps events in memory; for tests and for the change journal. */
export interface MemoryReporter extends Reporter {
  readonly events: readonly TimedEvent[];
}

export function createMemoryReporter(now: () => Date = () => new Date()): MemoryReporter {
  const events: TimedEvent[] = [];
  return {
    events,
    emit: (e) => events.push({ ...e, time: now().toISOString() } as TimedEvent),
    close: () => undefined,
  };
}

export const silentReporter: Reporter = { emit: () => undefined, close: () => undefined };

let nextStepId = 0;

export interface StepOptions {
  readonly address?: Address;
  readonly group?: string;
}

/**
 * Run `fn` as a reported step: `step.start`, then `step.end` with its duration and status.
 * A failure is reported and rethrown; `fn` may report progress through the callback.
 */
export async function runStep<T>(
  reporter: Reporter,
  title: string,
  fn: (progress: (message: string, percent?: number, transfer?: { readonly bytes: number; readonly totalBytes?: number }) => void) => Promise<T>,
  options: StepOptions = {},
): Promise<T> {
  const id = `s${++nextStepId}`;
  const started = performance.now();
  reporter.emit({ type: 'step.start', id, title, ...options });
  const end = (status: StepStatus, message?: string) =>
    reporter.emit({
      type: 'step.end',
      id,
      status,
      durationMs: Math.round(performance.now() - started),
      ...(message === undefined ? {} : { message }),
    });
  try {
    const result = await fn((message, percent, transfer) =>
      reporter.emit({
        type: 'step.progress',
        id,
        message,
        ...(percent === undefined ? {} : { percent }),
        ...(transfer === undefined ? {} : { bytes: transfer.bytes, ...(transfer.totalBytes === undefined ? {} : { totalBytes: transfer.totalBytes }) }),
      }),
    );
    end('ok');
    return result;
  } catch (error) {
    end('failed', error instanceof Error ? error.message : String(error));
    throw error;
  }
}

export type { ReporterEvent };
