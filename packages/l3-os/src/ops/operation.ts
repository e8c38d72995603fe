import { createHash } from 'node:crypto';
import { address, type Action, type Change, type Diagnostic, type FieldDiff, type Impact, type Secret, type StepSummary } from '@lab/core';
import type { Fact, FactSet } from '../facts/fact.js';

/**
 * One concrete side effect. Shell steps run as root inside the guarded apply script and must
 * `return` non-zero on failure; write steps become an atomic write (temp file, owner, mode,
 * optional validation of the temp file, rename).
 */
export type Step =
  | { readonly kind: 'shell'; readonly description: string; readonly script: string }
  | {
      readonly kind: 'write';
      readonly description: string;
      readonly path: string;
      readonly content: string | Buffer | Secret<string>;
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
      /** Command checking the temp file before it replaces the target; `%s` is its path (`visudo -cf %s`). */
      readonly validate?: string;
    };

/**
 * A deferred action run at the end of an apply when something it depends on changed. It is
 * recorded on the guest before the change is made, so a run that dies in between leaves it
 * pending for the next run.
 */
export type HandlerId = `restart:${string}` | `reload:${string}`;

/** A Change with the unified diff of a text file's content, when there is one to show. */
export interface L3Change extends Change {
  readonly unifiedDiff?: string;
}

export interface OpResult {
  /** One change per address the operation covers, noops included (they document the check). */
  readonly changes: readonly L3Change[];
  /** Empty when every change is a noop. */
  readonly steps: readonly Step[];
  readonly notify?: readonly HandlerId[];
  /** Fact values as they will be after the steps, so later operations plan against them. */
  readonly predicts?: readonly (readonly [Fact<unknown>, unknown])[];
  readonly diagnostics?: readonly Diagnostic[];
}

/** Desired state + facts → steps, or noops with reasons. `plan` is pure. */
export interface Operation {
  /** For messages, e.g. `apt.packages` or `file[/etc/motd]`. */
  readonly id: string;
  readonly facts: readonly Fact<unknown>[];
  plan(facts: FactSet): OpResult;
}

export interface OpContext {
  readonly persona: string;
}

export function summarize(steps: readonly Step[]): StepSummary[] {
  return steps.map((s) => ({ kind: s.kind === 'write' ? 'upload' : 'shell', description: s.description }));
}

export interface ChangeInit {
  readonly action: Action;
  readonly impact?: Impact;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly diff?: readonly FieldDiff[];
  readonly steps?: readonly Step[];
  readonly reason?: string;
  readonly sensitivePaths?: readonly string[];
  readonly unifiedDiff?: string;
}

export function makeChange(ctx: OpContext, kind: string, key: string | undefined, init: ChangeInit): L3Change {
  return {
    address: address(ctx.persona, 'l3', kind, key),
    layer: 'l3',
    kind,
    action: init.action,
    impact: init.action === 'noop' ? 'none' : (init.impact ?? 'none'),
    ...(init.before === undefined ? {} : { before: init.before }),
    ...(init.after === undefined ? {} : { after: init.after }),
    diff: init.diff ?? [],
    sensitivePaths: init.sensitivePaths ?? [],
    steps: summarize(init.steps ?? []),
    ...(init.reason === undefined ? {} : { reason: init.reason }),
    ...(init.unifiedDiff === undefined ? {} : { unifiedDiff: init.unifiedDiff }),
  };
}

export function noopChange(ctx: OpContext, kind: string, key: string | undefined, reason: string, state?: unknown): L3Change {
  return makeChange(ctx, kind, key, { action: 'noop', reason, ...(state === undefined ? {} : { before: state, after: state }) });
}

/** Field diffs of two flat records, for the keys given. */
export function fieldDiffs(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>, keys: readonly string[]): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path: k, ...(a === undefined ? {} : { before: a }), ...(b === undefined ? {} : { after: b }) });
  }
  return out;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Short digest for display: `sha256:1a2b3c4d5e6f`. */
export function shortDigest(hex: string | undefined): string | undefined {
  return hex === undefined ? undefined : `sha256:${hex.slice(0, 12)}`;
}

export function result(changes: readonly L3Change[], steps: readonly Step[] = [], extra: Omit<OpResult, 'changes' | 'steps'> = {}): OpResult {
  return { changes, steps, ...extra };
}
