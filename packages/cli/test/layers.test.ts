import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '@lab/core';
import { lab, scratchLab } from './_harness.js';
import type { ScratchLab } from '../src/scratch-lab.js';

let s: ScratchLab;
beforeAll(async () => {
  s = await scratchLab();
  // Records-only guests: L0 needs the API, not containers.
  const file = join(s.root, 'lab.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
});

describe('layer verbs on the embedded simulator (L0)', () => {
  it('check → plan (saved) → apply exactly the saved plan → check shows no changes', async () => {
    const check = await lab('check', '--layer', 'l0', '--root', s.root);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('lab apply --layer l0');

    const planFile = join(s.root, 'l0.plan.json');
    const plan = await lab('plan', '--layer', 'l0', '--root', s.root, '--out', planFile, '--json');
    expect(plan.code).toBe(2);
    const saved = parsePlan(readFileSync(planFile, 'utf8'));
    expect(saved.layers).toEqual(['l0']);
    expect(saved.changes.some((c) => c.address === '_site/l0/token[lab@pve!lab]' && c.action === 'create')).toBe(true);
    expect(JSON.parse(plan.stdout).formatVersion).toBe(1);

    const apply = await lab('apply', planFile, '--root', s.root);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain('stored encrypted as site/pve-token');

    const again = await lab('check', '--layer', 'l0', '--root', s.root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('as lab@pve!lab');
    expect(again.stderr).toContain('No changes. The lab matches its intent.');
  }, 120_000);

  it('a saved plan is refused once the cluster moved under it', async () => {
    const fresh = await scratchLab();
    const file = join(fresh.root, 'lab.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
    const planFile = join(fresh.root, 'l0.plan.json');
    expect((await lab('plan', '--layer', 'l0', '--root', fresh.root, '--out', planFile)).code).toBe(2);
    // Someone else applies in the meantime: the saved plan's basis no longer holds.
    expect((await lab('apply', '--layer', 'l0', '-y', '--root', fresh.root)).code).toBe(0);
    const r = await lab('apply', planFile, '--root', fresh.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_PLAN_STALE');
  }, 120_000);

  it('apply without a terminal and without -y refuses and changes nothing', async () => {
    const fresh = await scratchLab();
    const file = join(fresh.root, 'lab.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
    const r = await lab('apply', '--layer', 'l0', '--root', fresh.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_CONFIRM_REQUIRED');
    expect((await lab('check', '--layer', 'l0', '--root', fresh.root)).code).toBe(1);
  }, 120_000);

  it('an unknown layer or one not built yet is refused with the list', async () => {
    expect((await lab('plan', '--layer', 'l9', '--root', s.root)).stderr).toContain("unknown layer 'l9'");
    const r = await lab('plan', '--layer', 'capture', '--root', s.root, '--persona', 'media');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LAB_LAYER_UNAVAILABLE[\s\S]*available layers: l0, l1, l2, l3, l4/);
  });
});
