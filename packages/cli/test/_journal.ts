import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { address, createPlan, type Action, type Change, type Impact } from '@lab/core';
import { recordRun, type JournalRun } from '@lab/engine';
import { WORKSPACE } from './_harness.js';

/**
 * A copy of the example lab's intent (lab.yaml, personas/) without secrets: enough for the
 * commands that read only intent and journal (docs, log, metrics, personas, reap --dry-run).
 */
export function intentCopy(): string {
  const root = join(mkdtempSync(join(tmpdir(), 'lab-journal-')), 'lab');
  cpSync(join(WORKSPACE, 'lab.yaml'), join(root, 'lab.yaml'));
  cpSync(join(WORKSPACE, 'personas'), join(root, 'personas'), { recursive: true });
  return root;
}

export function change(addr: string, action: Action, impact: Impact = 'none', extra: Partial<Change> = {}): Change {
  const m = /^([^/]+)\/([^/]+)\/([^[]+)(?:\[(.*)\])?$/.exec(addr);
  if (!m) throw new TypeError(`not an address: ${addr}`);
  const [, scope = '', layer = '', kind = '', key] = m;
  return {
    address: address(scope, layer as Change['layer'], kind, key),
    layer: layer as Change['layer'],
    kind,
    action,
    impact,
    diff: [],
    sensitivePaths: [],
    steps: [],
    ...extra,
  };
}

export function planOf(changes: readonly Change[]) {
  return createPlan({ labVersion: '0.0.0-test', changes, layers: [...new Set(changes.map((c) => c.layer))] });
}

/** A run `daysAgo` days before `now`, written with a fixed operator and commit (no git calls). */
export async function record(root: string, run: Omit<JournalRun, 'startedAt' | 'durationMs'> & { at: Date; durationMs?: number }): Promise<void> {
  const { at, durationMs, ...rest } = run;
  await recordRun(root, { ...rest, startedAt: at, durationMs: durationMs ?? 1000 }, { provenance: { operator: 'test@lab', git: { commit: 'abc1234', dirty: false } } });
}

export const daysAgo = (days: number, now = new Date()): Date => new Date(now.getTime() - days * 86_400_000);
