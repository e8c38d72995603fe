import { createHash } from 'node:crypto';
import { LabError, type Diagnostic } from '@lab/core';
import { referenceHint } from './_issues.js';

export const INVALID = 'LAB_INTENT_INVALID';
export const NOT_FOUND = 'LAB_INTENT_NOT_FOUND';

/** Control characters (and bidi overrides) as visible escapes: a message never writes them to a terminal. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

function clean(d: Diagnostic): Diagnostic {
  return {
    ...d,
    summary: printable(d.summary.replace(/\n/g, ' ')),
    ...(d.detail === undefined ? {} : { detail: printable(d.detail) }),
    hint: printable((d.hint ?? (d.source ? referenceHint(d.source.file, d.path ?? '') : 'run `lab validate` to list every problem with its place')).replace(/\n/g, ' ')),
    ...(d.path === undefined ? {} : { path: printable(d.path) }),
  };
}

/** Diagnostics in reading order: by file, line, column. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list
    .map(clean)
    .filter((d) => {
      const k = `${d.source?.file}:${d.source?.line}:${d.source?.column} ${d.path} ${d.summary}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => {
      const fa = a.source?.file ?? '';
      const fb = b.source?.file ?? '';
      if (fa !== fb) return fa < fb ? -1 : 1;
      return (a.source?.line ?? 0) - (b.source?.line ?? 0) || (a.source?.column ?? 0) - (b.source?.column ?? 0);
    });
}

/** One LabError for every invalid field of every file, so one `lab validate` shows them all. */
export function intentError(diagnostics: readonly Diagnostic[]): LabError {
  const sorted = sortDiagnostics(diagnostics);
  const files = new Set(sorted.map((d) => d.source?.file).filter((f) => f !== undefined));
  const n = sorted.length;
  const where = files.size === 1 ? [...files][0] : `${files.size} files`;
  return new LabError({
    code: INVALID,
    summary: `${n} ${n === 1 ? 'error' : 'errors'} in ${where}`,
    hint: 'fix the fields above, then run `lab validate` again',
    diagnostics: sorted,
  });
}

/** Stable content digest of validated intent, for plan bases. */
export function digestOf(value: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
}
