/**
 * The watch over one running remote command: it ends the command when it has been *silent*
 * (no byte on stdout or stderr) for `silenceMs`, or — a safety bound for output that never
 * ends — when it has run for `overallMs`. A command that keeps printing is alive, however
 * long it takes (adr/0155). It remembers the last lines it saw, for the error.
 */
export interface WatchLimits {
  readonly silenceMs: number;
  /** Overall bound; undefined for none. */
  readonly overallMs?: number;
}

export type WatchVerdict =
  | { readonly kind: 'silent'; readonly silentMs: number; readonly lastLines: readonly string[] }
  | { readonly kind: 'overall'; readonly elapsedMs: number; readonly lastLines: readonly string[] };

export interface Watchdog {
  /** Output arrived: the command is alive. */
  saw(text: string): void;
  /** A sign of life that is not output (bytes of a streamed stdin accepted by the remote). */
  alive(): void;
  /** The last non-empty lines seen (progress bars rewritten with `\r` count as their last state). */
  lastLines(): readonly string[];
  stop(): void;
}

/** Bytes of output remembered for the error's "last seen" lines. */
const TAIL_BYTES = 4_096;

export function lastLinesOf(text: string, count = 3): string[] {
  return text
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('\r', l.length - 2) + 1).replace(/\r$/, '').trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-count)
    .map((l) => (l.length > 240 ? `${l.slice(0, 237)}...` : l));
}

/**
 * Start watching; `onLimit` is called once, when a limit is reached (then the watch stops).
 * Timers come from the global scope, so fake timers (vitest) drive it in tests.
 */
export function startWatchdog(limits: WatchLimits, onLimit: (verdict: WatchVerdict) => void): Watchdog {
  const started = Date.now();
  let last = started;
  let tail = '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const lines = () => lastLinesOf(tail);
  const arm = (ms: number) => {
    timer = setTimeout(check, Math.max(1, ms));
    timer.unref?.();
  };
  function check(): void {
    if (stopped) return;
    const now = Date.now();
    const silentMs = now - last;
    const elapsedMs = now - started;
    if (limits.overallMs !== undefined && elapsedMs >= limits.overallMs) {
      stopped = true;
      onLimit({ kind: 'overall', elapsedMs, lastLines: lines() });
      return;
    }
    if (silentMs >= limits.silenceMs) {
      stopped = true;
      onLimit({ kind: 'silent', silentMs, lastLines: lines() });
      return;
    }
    const toSilence = limits.silenceMs - silentMs;
    const toOverall = limits.overallMs === undefined ? Infinity : limits.overallMs - elapsedMs;
    arm(Math.min(toSilence, toOverall));
  }
  arm(Math.min(limits.silenceMs, limits.overallMs ?? Infinity));

  return {
    saw(text) {
      last = Date.now();
      tail = (tail + text).slice(-TAIL_BYTES);
    },
    alive() {
      last = Date.now();
    },
    lastLines: lines,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
