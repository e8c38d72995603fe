import { createHash } from 'node:crypto';
import { LabError, type Diagnostic } from '@lab/core';

export const INVALID = 'LAB_INTENT_INVALID';
export const NOT_FOUND = 'LAB_INTENT_NOT_FOUND';

/** Diagnostics in reading order: by file, line, column. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list
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
