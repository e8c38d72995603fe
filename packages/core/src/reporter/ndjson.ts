import type { Reporter } from './events.js';

export interface WritableLike {
  write(chunk: string): unknown;
}

/**
 * One JSON object per line, each with a `time`. `Secret` values serialise as `***` through
 * their toJSON, so a machine-readable stream can never carry plaintext.
 */
export function createNdjsonReporter(stream: WritableLike, now: () => Date = () => new Date()): Reporter {
  return {
    emit(event) {
      try {
        stream.write(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`);
      } catch {
        // A closed pipe must not break an apply; the journal keeps the record.
      }
    },
    close: () => undefined,
  };
}
