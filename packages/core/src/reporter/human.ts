import { colorWanted, painter, type Paint } from '../_style.js';
import { formatDiagnostic } from '../diagnostic.js';
import { renderPlanView } from '../render-plan-summary.js';
import type { Reporter, ReporterEvent } from './events.js';

export interface HumanReporterOptions {
  readonly stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  readonly color?: boolean;
  /** Redraw a live status line for running steps (TTY only). */
  readonly live?: boolean;
  readonly verbose?: boolean;
  /** Plans in full (every change and diff) even when long; default: the summary view (adr/0182). */
  readonly detail?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Renders events for a person on stderr: one line per finished step with its duration, a
 * spinner line for what is running (TTY), diagnostics with file:line:col and hints.
 * Lines of parallel work carry their group (the persona/host) as a prefix.
 */
export function createHumanReporter(options: HumanReporterOptions = {}): Reporter {
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? colorWanted(stream);
  const paint = painter(color);
  const live = (options.live ?? true) && stream.isTTY === true;
  const running = new Map<string, { title: string; group?: string; message?: string }>();
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let statusShown = false;

  const clearStatus = () => {
    if (statusShown) stream.write('\r\x1b[2K');
    statusShown = false;
  };
  const drawStatus = () => {
    if (!live || running.size === 0) return;
    const last = [...running.values()].at(-1)!;
    const more = running.size > 1 ? paint('dim', ` (+${running.size - 1} more)`) : '';
    const msg = last.message ? paint('dim', ` — ${last.message}`) : '';
    clearStatus();
    stream.write(`${paint('cyan', FRAMES[frame % FRAMES.length]!)} ${prefix(last.group, paint)}${last.title}${msg}${more}`);
    statusShown = true;
  };
  const println = (line: string) => {
    clearStatus();
    stream.write(`${line}\n`);
    drawStatus();
  };
  const ensureTimer = () => {
    if (!live || timer) return;
    timer = setInterval(() => {
      frame += 1;
      drawStatus();
    }, 80);
    timer.unref();
  };

  const handle = (e: ReporterEvent) => {
    switch (e.type) {
      case 'phase':
        println(paint('bold', `${e.name}${e.persona ? ` ${e.persona}` : ''}${e.layer ? ` (${e.layer})` : ''}`));
        break;
      case 'step.start':
        running.set(e.id, { title: e.title, ...(e.group ? { group: e.group } : {}) });
        if (live) ensureTimer();
        else if (options.verbose) println(`${paint('dim', '→')} ${prefix(e.group, paint)}${e.title}`);
        drawStatus();
        break;
      case 'step.progress': {
        const s = running.get(e.id);
        if (s) s.message = e.percent === undefined ? e.message : `${e.message} ${Math.round(e.percent)}%`;
        drawStatus();
        break;
      }
      case 'step.end': {
        const s = running.get(e.id);
        running.delete(e.id);
        const mark = e.status === 'ok' ? paint('green', '✓') : e.status === 'failed' ? paint('red', '✗') : paint('gray', '-');
        const took = paint('dim', `(${formatMs(e.durationMs)})`);
        const why = e.status === 'failed' && e.message ? `\n    ${paint('red', e.message)}` : '';
        println(`${mark} ${prefix(s?.group, paint)}${s?.title ?? e.id} ${took}${why}`);
        if (running.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
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
