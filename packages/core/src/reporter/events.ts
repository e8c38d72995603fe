import type { Address, Layer } from '../address.js';
import type { Diagnostic } from '../diagnostic.js';
import type { Plan } from '../plan.js';

export type StepStatus = 'ok' | 'failed' | 'skipped';
export type LogLevel = 'debug' | 'info' | 'warn';

/** Everything a layer can tell the operator. Layers emit; renderers decide how it looks. */
export type ReporterEvent =
  | { readonly type: 'phase'; readonly name: string; readonly persona?: string; readonly layer?: Layer }
  | { readonly type: 'step.start'; readonly id: string; readonly title: string; readonly address?: Address; readonly group?: string }
  /**
   * What a running step is doing now (apt's package and phase, a health gate's state, a task's
   * log line, bytes of an image transfer). `elapsedMs` is set on heartbeats: the same news
   * repeated after 10 s of quiet.
   */
  | { readonly type: 'step.progress'; readonly id: string; readonly message: string; readonly percent?: number; readonly bytes?: number; readonly totalBytes?: number; readonly elapsedMs?: number }
  | { readonly type: 'step.end'; readonly id: string; readonly status: StepStatus; readonly durationMs: number; readonly message?: string }
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string; readonly address?: Address; readonly group?: string }
  | { readonly type: 'diagnostic'; readonly diagnostic: Diagnostic }
  | { readonly type: 'plan'; readonly plan: Plan }
  | { readonly type: 'result'; readonly ok: boolean; readonly exitCode: number; readonly summary: string };

export type TimedEvent = ReporterEvent & { readonly time: string };

/** A typed event sink. Implementations must not throw: reporting never breaks an apply. */
export interface Reporter {
  emit(event: ReporterEvent): void;
  /** Flush and stop any live rendering. */
  close(): void;
}
