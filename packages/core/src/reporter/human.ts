import { colorWanted, painter, type Paint } from '../_style.js';
import { formatDiagnostic } from '../diagnostic.js';
import { renderPlanView } from '../render-plan-summary.js';
import type { Reporter, ReporterEvent } from './events.js';
import { liveLines } from './_live.js';
import { describeRunning, RunningSteps } from './_running.js';

export interface HumanReporterOptions {
  readonly stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  readonly color?: boolean;
  /** Redraw live status lines for running steps (TTY only). */
  readonly live?: boolean;
  readonly verbose?: boolean;
  /**
   * Off a TTY, a running step's group gets a progress line after this long without one
   * (default 10 s): a log never goes quiet while work goes on.
   */
  readonly heartbeatMs?: number;
  /** Epoch ms; tests pass fake timers instead. */
  readonly now?: () => number;
  /** Plans in full (every change and diff) even when long; default: the summary view (adr/0182). */
  readonly detail?: boolean;
}

/** The live region never takes more than this many lines (plus one `… and n more`). */
const MAX_LIVE_LINES = 8;

/**
 * Renders events for a person on stderr: one line per finished step with its duration,
 * diagnostics with file:line:col and hints. While steps run: on a TTY a live region with one
 * line per group (persona), redrawn in place, saying what each is doing (apt's package and
 * percentage, the health gate's state…) and for how long; off a TTY a progress line per busy
 * group at least every `heartbeatMs` (adr/0156). Lines of parallel work carry their group.
 */
export function createHumanReporter(options: HumanReporterOptions = {}): Reporter {
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? colorWanted(stream);
  const paint = painter(color);
  const live = (options.live ?? true) && stream.isTTY === true;
  const now = options.now ?? (() => Date.now());
  const heartbeatMs = Math.max(100, options.heartbeatMs ?? 10_000);
  const running = new RunningSteps(now);
  const groupShown = new Map<string | undefined, number>();
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let shownLines = 0;

  const clearStatus = () => {
    if (shownLines === 0) return;
    stream.write(`\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(shownLines - 1)}`);
    shownLines = 0;
  };
  const drawStatus = () => {
    if (!live || running.size === 0) return;
    // A pty without a size reports 0: take a common terminal's then.
    const columns = Math.max(20, (stream as { columns?: number }).columns || 100);
    const rows = (stream as { rows?: number }).rows || 24;
    const lines = liveLines(running.groups(), now(), frame, paint, { columns, maxLines: Math.min(MAX_LIVE_LINES, Math.max(2, rows - 2)) });
    clearStatus();
    stream.write(lines.join('\n'));
    shownLines = lines.length;
  };
  const println = (line: string) => {
    clearStatus();
    stream.write(`${line}\n`);
    drawStatus();
  };
  // Off a TTY: the newest step of each busy group, when the group has been quiet that long.
  const heartbeat = () => {
    const t = now();
    for (const g of running.groups()) {
      const last = Math.max(groupShown.get(g.group) ?? 0, Math.min(...g.steps.map((s) => s.started)));
      if (t - last < heartbeatMs * 0.8) continue;
      const newest = g.steps.at(-1)!;
      groupShown.set(g.group, t);
      stream.write(`${paint('dim', '…')} ${prefix(g.group, paint)}${describeRunning(newest, t)}\n`);
    }
  };
  const ensureTimer = () => {
    if (timer) return;
    timer = live
      ? setInterval(() => {
          frame += 1;
          drawStatus();
        }, 80)
      : setInterval(heartbeat, heartbeatMs / 5);
    timer.unref?.();
  };
  const stopTimerWhenIdle = () => {
    if (running.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const handle = (e: ReporterEvent) => {
    switch (e.type) {
      case 'phase':
        println(paint('bold', `${e.name}${e.persona ? ` ${e.persona}` : ''}${e.layer ? ` (${e.layer})` : ''}`));
        break;
      case 'step.start':
        running.track(e);
        ensureTimer();
        if (!live && options.verbose) {
          groupShown.set(e.group, now());
          println(`${paint('dim', '→')} ${prefix(e.group, paint)}${e.title}`);
        }
        drawStatus();
        break;
      case 'step.progress':
        running.track(e);
        break;
      case 'step.end': {
        const s = running.track(e);
        const mark = e.status === 'ok' ? paint('green', '✓') : e.status === 'failed' ? paint('red', '✗') : paint('gray', '-');
        const took = paint('dim', `(${formatMs(e.durationMs)})`);
        const why = e.status === 'failed' && e.message ? `\n    ${paint('red', e.message)}` : '';
        if (s) groupShown.set(s.group, now());
        println(`${mark} ${prefix(s?.group, paint)}${s?.title ?? e.id} ${took}${why}`);
        stopTimerWhenIdle();
        break;
      }
      case 'log':
        if (e.level === 'debug' && !options.verbose) break;
        println(`${e.level === 'warn' ? paint('yellow', 'warning: ') : ''}${prefix(e.group, paint)}${e.message}`);
        break;
      case 'diagnostic': {
        const d = e.diagnostic;
        const label = d.severity === 'error' ? paint('red', 'error') : d.severity === 'warning' ? paint('yellow', 'warning') : 'info';
        println(`${label}: ${formatDiagnostic(d)}`);
        break;
      }
      case 'plan':
        println(renderPlanView(e.plan, { color, detail: options.detail === true }));
        break;
      case 'result':
        println(e.ok ? e.summary : paint('red', e.summary));
        break;
    }
  };

  return {
    emit(event) {
      try {
        handle(event);
      } catch {
        // Rendering must never break the work it reports on.
      }
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clearStatus();
    },
  };
}

function prefix(group: string | undefined, paint: Paint): string {
  return group ? `${paint('cyan', `[${group}]`)} ` : '';
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
