import type { Paint } from '../_style.js';
import { describeRunning, type RunningGroup } from './_running.js';

export const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface LiveLayout {
  /** Terminal width; lines are cut to fit so that redrawing in place never wraps. */
  readonly columns: number;
  /** Most lines the live region may take; more groups fold into a last `+n more` line. */
  readonly maxLines: number;
}

/**
 * The live region on a terminal: one line per group (persona) with its newest running step,
 * what it is doing and for how long, `(+n)` when the group runs more than one. Pure: the
 * human reporter redraws it in place.
 */
export function liveLines(groups: readonly RunningGroup[], now: number, frame: number, paint: Paint, layout: LiveLayout): string[] {
  if (groups.length === 0) return [];
  const room = Math.max(1, layout.maxLines);
  const shown = groups.length > room ? groups.slice(0, room - 1) : groups;
  const spinner = FRAMES[frame % FRAMES.length]!;
  const lines = shown.map((g) => {
    const newest = g.steps.at(-1)!;
    const more = g.steps.length > 1 ? ` (+${g.steps.length - 1})` : '';
    const head = `${spinner} ${g.group ? `[${g.group}] ` : ''}`;
    const text = fit(`${describeRunning(newest, now)}${more}`, layout.columns - 1 - [...head].length);
    return `${paint('cyan', spinner)} ${g.group ? `${paint('cyan', `[${g.group}]`)} ` : ''}${text}`;
  });
  if (shown.length < groups.length) {
    const rest = groups.slice(shown.length);
    const names = rest.map((g) => g.group ?? '-').join(', ');
    lines.push(paint('dim', fit(`  … and ${rest.length} more: ${names}`, layout.columns - 1)));
  }
  return lines;
}

function fit(text: string, width: number): string {
  const chars = [...text];
  if (width <= 1) return '';
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}
