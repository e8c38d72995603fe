import type { Address } from './address.js';
import { formatDiagnostic, type Diagnostic } from './diagnostic.js';

export interface LabErrorOptions {
  readonly code: string;
  readonly summary: string;
  readonly detail?: string;
  /** The fix, ideally as a command the operator can run. */
  readonly hint?: string;
  readonly address?: Address;
  readonly cause?: unknown;
  /** Several findings behind one failure (e.g. every invalid field of a persona). */
  readonly diagnostics?: readonly Diagnostic[];
}

/**
 * The one error type of the lab. Every failure a person can act on is a LabError with a
 * stable `code` (documented, never renamed), a one-line `summary`, optional `detail`, and a
 * `hint` that names the fix. Only the CLI's main turns it into an exit code.
 */
export class LabError extends Error {
  readonly code: string;
  readonly summary: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly address: Address | undefined;
  readonly diagnostics: readonly Diagnostic[];

  constructor(options: LabErrorOptions) {
    super(options.summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabError';
    this.code = options.code;
    this.summary = options.summary;
    this.detail = options.detail;
    this.hint = options.hint;
    this.address = options.address;
    this.diagnostics = options.diagnostics ?? [];
  }

  /** The error as a Diagnostic, for JSON output and plans. */
  toDiagnostic(): Diagnostic {
    return {
      severity: 'error',
      code: this.code,
      summary: this.summary,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.address === undefined ? {} : { address: this.address }),
    };
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      summary: this.summary,
      detail: this.detail,
      hint: this.hint,
      address: this.address,
      diagnostics: this.diagnostics,
    };
  }

  /** Human text: summary, each diagnostic, detail and hint. No stack trace. */
  format(): string {
    const lines = [`Error [${this.code}]: ${this.summary}`];
    for (const d of this.diagnostics) lines.push(indent(formatDiagnostic(d)));
    if (this.detail) lines.push(indent(this.detail));
    if (this.hint) lines.push(`  hint: ${this.hint}`);
    return lines.join('\n');
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

export function isLabError(value: unknown): value is LabError {
  return value instanceof LabError;
}

/** Wrap anything thrown into a LabError, keeping LabErrors as they are. */
export function toLabError(value: unknown, code = 'LAB_INTERNAL', hint?: string): LabError {
  if (isLabError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new LabError({
    code,
    summary: message,
    hint: hint ?? 'this is a bug in lab if it is not explained by the message; please report it with --verbose output',
    cause: value,
  });
}
