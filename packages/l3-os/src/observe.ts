import { LabError, type Reporter, type Secret } from '@lab/core';
import type { Fact, FactSet } from './facts/fact.js';
import { factBatch } from './facts/gather.js';
import type { L3Intent } from './intent.js';
import { requiredFacts } from './plan.js';

/**
 * L3's observe step: the facts a persona's operations read, gathered from the guest in one
 * remote command. Plan (plan.ts) is pure over these facts; apply (apply/apply.ts) re-gathers
 * after each step and re-verifies at the end.
 */

/** What L3 needs from a connection; `SshConnection` from @lab/ssh is one. */
export interface RemoteHost {
  readonly label: string;
  script(
    body: string,
    options?: { readonly sudo?: boolean; readonly timeoutMs?: number; readonly label?: string; readonly onStdout?: (s: string) => void; readonly onStderr?: (s: string) => void; readonly secrets?: readonly Secret<string>[] },
  ): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>;
}

export interface L3Context {
  readonly host: RemoteHost;
  readonly reporter?: Reporter;
  /** Reporter group for this host's lines (the persona name by default). */
  readonly group?: string;
}

/** Counts remote commands: every one is a round trip. */
export class Counter {
  n = 0;
}

export async function gatherWith(host: RemoteHost, facts: readonly Fact<unknown>[], counter: Counter): Promise<FactSet> {
  const batch = factBatch(facts);
  counter.n += 1;
  const r = await host.script(batch.body, { sudo: true });
  if (r.code !== 0) {
    throw new LabError({
      code: 'LAB_L3_FACTS_FAILED',
      summary: `gathering facts on ${host.label} failed (exit ${r.code ?? 'none'})`,
      detail: r.stderr.trim().split('\n').slice(-10).join('\n'),
      hint: 'check that the guest runs Debian 12 with systemd, and that the SSH user has password-less sudo',
    });
  }
  return batch.parse(r.stdout).facts;
}

/** Read the given facts in one remote command (one round trip). */
export function gatherFacts(host: RemoteHost, facts: readonly Fact<unknown>[]): Promise<FactSet> {
  return gatherWith(host, facts, new Counter());
}

/** `observeL3`: every fact the persona's operations read, in one round trip. */
export function observeL3(intent: L3Intent, ctx: L3Context): Promise<FactSet> {
  return gatherFacts(ctx.host, requiredFacts(intent));
}
