import type { Address } from './address.js';

/** How serious a diagnostic is. `error` blocks apply; `warning` is shown and recorded. */
export type Severity = 'error' | 'warning' | 'info';

/** A position in a source file, 1-based line and column, as editors show them. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A finding about intent or the observed world, attached to a plan or raised inside a LabError.
 * Modelled on Terraform's tfdiags: a summary for one line, detail for the rest, and a hint
 * that tells the operator the fix.
 */
export interface Diagnostic {
  readonly severity: Severity;
  /** Stable machine-readable code, e.g. `LAB_INTENT_INVALID`. */
  readonly code: string;
  readonly summary: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly address?: Address;
  /** Dotted path inside the intent document, e.g. `vm.disks[1].size`. */
  readonly path?: string;
  readonly source?: SourceLocation;
}

/** `personas/media/persona.yaml:14:7` — the prefix every intent message starts with. */
export function formatSource(source: SourceLocation): string {
  return `${source.file}:${source.line}:${source.column}`;
}

/** One line for a terminal: `file:line:col path: summary`, then an indented hint. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.source ? `${formatSource(d.source)} ` : '';
  const path = d.path ? `${d.path}: ` : '';
  const head = `${where}${path}${d.summary}`;
  const lines = [head];
  if (d.detail) lines.push(`  ${d.detail}`);
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join('\n');
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
