import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecret, Secret } from '@lab/core';
import { FactSet } from '../src/facts/fact.js';
import { factFromKey } from '../src/facts/registry.js';
import { groupOp, userOp } from '../src/ops/accounts.js';
import { packagesOp, repositoryOp } from '../src/ops/apt.js';
import { blockOp, directoryOp, fileOp, lineOp } from '../src/ops/files.js';
import { firewallOp } from '../src/ops/firewall.js';
import { handlersOp } from '../src/ops/handlers.js';
import { mountOp } from '../src/ops/mounts.js';
import type { OpContext, Operation, Step } from '../src/ops/operation.js';
import { sysctlOp } from '../src/ops/sysctl.js';
import { hostnameOp, localeOp, timezoneOp } from '../src/ops/system.js';
import { serviceOp, unitFileOp } from '../src/ops/systemd.js';

/**
 * Table-driven operations: facts + arguments → changes (address, action, impact, reason) and
 * the exact steps, or noops with their reason. `{"$secret": "…"}` in args becomes a Secret,
 * `{"$base64": "…"}` a Buffer.
 */
const ctx: OpContext = { persona: 't' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = any;
const OPS: Record<string, (args: Args) => Operation> = {
  'apt.packages': (a) => packagesOp(ctx, a),
  'apt.repository': (a) => repositoryOp(ctx, a),
  file: (a) => fileOp(ctx, a),
  directory: (a) => directoryOp(ctx, a),
  line: (a) => lineOp(ctx, a),
  block: (a) => blockOp(ctx, a),
  group: (a) => groupOp(ctx, a),
  user: (a) => userOp(ctx, a),
  sysctl: (a) => sysctlOp(ctx, a),
  'systemd.unit': (a) => unitFileOp(ctx, a),
  'systemd.service': (a) => serviceOp(ctx, a),
  hostname: (a) => hostnameOp(ctx, a),
  timezone: (a) => timezoneOp(ctx, a),
  locale: (a) => localeOp(ctx, a),
  mount: (a) => mountOp(ctx, a),
  firewall: (a) => firewallOp(ctx, a),
  handlers: () => handlersOp(ctx),
};

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$secret === 'string') return new Secret(o.$secret);
    if (typeof o.$base64 === 'string') return Buffer.from(o.$base64, 'base64');
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

/** A step as fixtures spell it: the shell text, or `write <path> <mode> <owner>:<group> sha256:<12>`. */
export function stepText(s: Step): string {
  if (s.kind === 'shell') return s.script;
  const raw = isSecret(s.content) ? Buffer.from(s.content.reveal()) : Buffer.isBuffer(s.content) ? s.content : Buffer.from(s.content);
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 12);
  return `write ${s.path} ${s.mode} ${s.owner}:${s.group} sha256:${digest}${s.validate ? ` validate=${s.validate}` : ''}`;
}

interface OpCase {
  readonly name: string;
  readonly args?: unknown;
  readonly facts: Record<string, unknown>;
  readonly expect: {
    readonly changes: readonly { address: string; action: string; impact?: string; reason?: string; unifiedDiff?: string; diff?: unknown }[];
    readonly steps: readonly string[];
    readonly notify?: readonly string[];
    readonly diagnostics?: readonly string[];
  };
}

const dir = join(import.meta.dirname, 'fixtures/operations');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('operations (fixtures/operations)', () => {
  it('has fixtures for every operation', () => {
    const covered = files.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { operation: string }).operation);
    expect(covered.sort()).toEqual(Object.keys(OPS).sort());
  });

  for (const file of files) {
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { operation: string; cases: OpCase[] };
    describe(data.operation, () => {
      for (const c of data.cases) {
        it(c.name, () => {
          const op = OPS[data.operation]!(revive(c.args));
          const facts = new FactSet().with(Object.entries(c.facts).map(([k, v]) => [factFromKey(k), v] as const));
          for (const f of op.facts) expect(facts.has(f), `fixture lacks fact ${f.name}[${f.arg ?? ''}]`).toBe(true);
          const r = op.plan(facts);
          expect(r.changes.map((ch) => ({ address: ch.address, action: ch.action }))).toEqual(c.expect.changes.map((ch) => ({ address: ch.address, action: ch.action })));
          c.expect.changes.forEach((want, i) => {
            const got = r.changes[i]!;
            if (want.impact) expect(got.impact, `impact of ${want.address}`).toBe(want.impact);
            if (want.reason) expect(got.reason, `reason of ${want.address}`).toBe(want.reason);
            if (want.unifiedDiff) expect(got.unifiedDiff).toBe(want.unifiedDiff);
            if (want.diff) expect(got.diff).toEqual(want.diff);
          });
          expect(r.steps.map(stepText)).toEqual(c.expect.steps);
          if (c.expect.notify) expect(r.steps.length ? (r.notify ?? []) : []).toEqual(c.expect.notify);
          expect((r.diagnostics ?? []).map((d) => d.code)).toEqual(c.expect.diagnostics ?? []);
          // Planning is pure: the same facts give the same answer.
          expect(op.plan(facts).steps.map(stepText)).toEqual(r.steps.map(stepText));
        });
      }
    });
  }
});
