import { painter, type Color, type Paint } from './_style.js';
import type { Action, Change, FieldDiff } from './change.js';
import { formatDiagnostic } from './diagnostic.js';
import type { Impact } from './impact.js';
import { isSecret, SECRET_MASK } from './secret.js';
import { summarizePlan, type Plan } from './plan.js';

const SYMBOL: Record<Action, string> = { create: '+', update: '~', replace: '-/+', delete: '-', noop: ' ' };
const COLOR: Record<Action, Color> = { create: 'green', update: 'yellow', replace: 'magenta', delete: 'red', noop: 'gray' };
const VERB: Record<Action, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  replace: 'must be replaced',
  delete: 'will be destroyed',
  noop: 'is up to date',
};

export interface RenderPlanOptions {
  readonly color?: boolean;
  /** Show noop changes with their reason (for `--verbose`). */
  readonly showNoop?: boolean;
}

/** Human text of a plan: one block per change, field diffs, diagnostics, then the summary line. */
export function renderPlan(plan: Plan, options: RenderPlanOptions = {}): string {
  const paint = painter(options.color === true);
  const out: string[] = [];
  for (const change of plan.changes) {
    if (change.action === 'noop' && !options.showNoop) continue;
    out.push(...renderChange(change, paint));
  }
  for (const d of plan.diagnostics) {
    const label = d.severity === 'error' ? paint('red', 'Error') : paint('yellow', d.severity === 'warning' ? 'Warning' : 'Info');
    out.push(`${label}: ${formatDiagnostic(d)}`);
  }
  if (out.length > 0) out.push('');
  out.push(renderSummaryLine(plan, paint));
  return out.join('\n');
}

/** The heading line of one change: symbol, address, verb, impact. */
export function renderChangeHead(change: Change, paint: Paint): string {
  const sym = paint(COLOR[change.action], SYMBOL[change.action].padEnd(3));
  const impactText = change.action === 'noop' ? '' : renderImpact(change.impact, paint);
  return `${sym} ${paint('bold', change.address)} ${paint('dim', VERB[change.action])}${impactText ? ` ${impactText}` : ''}`;
}

function renderChange(change: Change, paint: Paint): string[] {
  const lines = [renderChangeHead(change, paint)];
  if (change.reason) lines.push(`      ${paint('dim', `# ${change.reason}`)}`);
  for (const d of change.diff) lines.push(`      ${renderField(d, change, paint)}`);
  if (change.unifiedDiff && change.action !== 'noop') lines.push(...renderUnifiedDiff(change.unifiedDiff, paint));
  return lines;
}

function renderUnifiedDiff(diff: string, paint: Paint): string[] {
  return diff
    .trimEnd()
    .split('\n')
    .map((l) => {
      const color: Color | undefined = l.startsWith('+++') || l.startsWith('---') ? 'bold' : l.startsWith('+') ? 'green' : l.startsWith('-') ? 'red' : l.startsWith('@@') ? 'cyan' : undefined;
      return `        ${color ? paint(color, l) : l}`;
    });
}

function renderImpact(impact: Impact, paint: Paint): string {
  if (impact === 'data-loss') return paint('red', paint('bold', '(DATA LOSS)'));
  if (impact === 'none') return '';
  const color: Color = impact === 'reboot' || impact === 'recreate' ? 'yellow' : 'cyan';
  return paint(color, `(${impact})`);
}

function renderField(d: FieldDiff, change: Change, paint: Paint): string {
  const masked = d.sensitive === true || change.sensitivePaths.includes(d.path);
  const show = (v: unknown) => (masked ? SECRET_MASK : formatValue(v));
  let body: string;
  // A field with no value on either side is an event (`services.web (new container)`), never `undefined`.
  if (d.before === undefined && d.after === undefined) body = `${paint(COLOR[change.action], '•')} ${d.path}`;
  else if (d.before === undefined) body = `${paint('green', '+')} ${d.path}: ${show(d.after)}`;
  else if (d.after === undefined) body = `${paint('red', '-')} ${d.path}: ${show(d.before)}`;
  else body = `${paint('yellow', '~')} ${d.path}: ${show(d.before)} → ${show(d.after)}`;
  const extras = [d.impact && d.impact !== 'none' ? renderImpact(d.impact, paint) : '', d.note ? paint('dim', `(${d.note})`) : '']
    .filter(Boolean)
    .join(' ');
  return extras ? `${body}  ${extras}` : body;
}

/** Compact one-line rendering of a diff value; secrets are always `***`. */
export function formatValue(value: unknown): string {
  if (isSecret(value)) return SECRET_MASK;
  if (typeof value === 'string') return /^[\w./:@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `Plan: 1 to create, 2 to update, 0 to replace, 0 to destroy (1 reboot, 0 data-loss).` */
export function renderSummaryLine(plan: Plan, paint: Paint = painter(false)): string {
  const s = summarizePlan(plan);
  // A plan that failed was not compared in full with the world: it never reads as a success.
  const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0) return paint('red', `Planning failed with ${errors} ${errors === 1 ? 'error' : 'errors'}; nothing was applied.`);
  if (s.create + s.update + s.replace + s.delete === 0) return 'No changes. The lab matches its intent.';
  const notable = (['hotplug', 'reload', 'restart', 'reboot', 'recreate'] as const)
    .filter((i) => s.impacts[i] > 0)
    .map((i) => `${s.impacts[i]} ${i}`);
  const loss = `${s.impacts['data-loss']} data-loss`;
  const impacts = [...notable, s.impacts['data-loss'] > 0 ? paint('red', loss) : loss].join(', ');
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to destroy (${impacts}).`;
}
