import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, hasChanges, hasErrors, parsePlan, renderSummaryLine } from '@lab/core';

/** The verdict of one persona's `lab check`, with lab's exit-code meaning. */
export type CheckVerdict = 'ok' | 'changes' | 'error';

export interface CheckResult {
  readonly persona: string;
  readonly verdict: CheckVerdict;
  /** `Plan: 1 to create, …`, or why there is no plan. */
  readonly summary: string;
  readonly planFile: string | undefined;
}

/**
 * Read back what each check saved. No plan file means the check stopped before it had one
 * (invalid intent, unreachable Proxmox, unreadable secrets): an error, shown in its output.
 */
export function readResults(outDir: string, personas: readonly string[]): CheckResult[] {
  return personas.map((persona): CheckResult => {
    const file = join(outDir, `${persona}.plan.json`);
    if (!existsSync(file)) return { persona, verdict: 'error', summary: 'stopped before it had a plan (its output above says why)', planFile: undefined };
    try {
      const plan = parsePlan(readFileSync(file, 'utf8'), file);
      const errors = plan.diagnostics.filter((d) => d.severity === 'error');
      if (hasErrors(plan.diagnostics)) return { persona, verdict: 'error', summary: errors.map((d) => `${d.code}: ${d.summary}`).join('; '), planFile: file };
      return { persona, verdict: hasChanges(plan) ? 'changes' : 'ok', summary: renderSummaryLine(plan), planFile: file };
    } catch (e) {
      return { persona, verdict: 'error', summary: `unreadable plan ${file}: ${(e as Error).message}`, planFile: file };
    }
  });
}

/** As every lab command: 1 if any check failed, else 2 if any found changes, else 0. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  if (results.some((r) => r.verdict === 'error')) return ExitCode.Error;
  return results.some((r) => r.verdict === 'changes') ? ExitCode.Changes : ExitCode.Ok;
}
