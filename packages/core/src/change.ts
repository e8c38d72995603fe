import type { Address, Layer } from './address.js';
import type { Impact } from './impact.js';

export const ACTIONS = ['noop', 'create', 'update', 'replace', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

/** One field that differs between what is and what should be. */
export interface FieldDiff {
  /** Dotted path relative to the changed object, e.g. `memory` or `net0.tag`. */
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /** Per-field impact when it differs from the change's overall impact (e.g. `cores (reboot)`). */
  readonly impact?: Impact;
  /** Values are masked in every rendering; the plan JSON carries `***` instead. */
  readonly sensitive?: boolean;
  /** A short note for display, e.g. `pending until reboot`, `shrink refused`. */
  readonly note?: string;
}

/** A serialisable description of one side effect a change will perform, for display and audit. */
export interface StepSummary {
  readonly kind: 'shell' | 'upload' | 'api' | 'wait' | 'other';
  readonly description: string;
}

/**
 * One planned action on one address: before, after, the field diff, and its impact.
 * `reason` explains a noop or a refusal and is for display only; code must not branch on it.
 */
export interface Change {
  readonly address: Address;
  readonly layer: Layer;
  readonly kind: string;
  readonly action: Action;
  readonly replaceOrder?: 'create-before-destroy' | 'destroy-before-create';
  readonly impact: Impact;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly diff: readonly FieldDiff[];
  /** Dotted paths inside before/after whose values are secrets (masked on output). */
  readonly sensitivePaths: readonly string[];
  readonly steps: readonly StepSummary[];
  readonly reason?: string;
  /**
   * For text files: a unified diff (`--- path` / `+++ path` / hunks) of what apply will write.
   * Never set for sensitive content (those compare by digest only).
   */
  readonly unifiedDiff?: string;
}

export function isPending(change: Change): boolean {
  return change.action !== 'noop';
}
