import { describe, expect, it } from 'vitest';
import { address, createHumanReporter, createPlan, renderPlan, renderPlanView, type Change, type Impact } from '../src/index.js';

const change = (persona: string, layer: 'l2' | 'l3' | 'l4', key: string, action: Change['action'], impact: Impact = 'none'): Change => ({
  address: address(persona, layer, layer === 'l3' ? 'file' : layer === 'l2' ? 'vm' : 'stack', key),
  layer,
  kind: 'x',
  action,
  impact,
  diff: Array.from({ length: 4 }, (_, i) => ({ path: `field${i}`, before: 'a', after: 'b' })),
  sensitivePaths: [],
  steps: [],
});

// Like the example lab's first plan: many quiet changes, a few that cost something.
const big = createPlan({
  labVersion: 't',
  changes: [
    ...Array.from({ length: 30 }, (_, i) => change('media', 'l3', `/etc/f${i}`, 'create')),
    ...Array.from({ length: 10 }, (_, i) => change('edge', 'l3', `/etc/g${i}`, 'update')),
    change('media', 'l2', 'vm', 'update', 'reboot'),
    change('tinker', 'l4', 'ide', 'delete', 'data-loss'),
    change('edge', 'l3', '/etc/same', 'noop'),
  ],
});

describe('plan view (adr/0182)', () => {
  it('summarises a long plan: counts per persona and layer, the changes with an impact, no diffs', () => {
    const text = renderPlanView(big);
    expect(renderPlan(big).split('\n').length).toBeGreaterThan(200);
    const lines = text.split('\n');
    expect(lines.length).toBeLessThan(20);
    expect(lines[0]).toMatch(/^PERSONA\s+LAYER\s+CREATE\s+UPDATE\s+REPLACE\s+DESTROY\s+WORST IMPACT$/);
    expect(text).toMatch(/^media\s+L3\s+30\s+0\s+0\s+0\s+none$/m);
    expect(text).toMatch(/^media\s+L2\s+0\s+1\s+0\s+0\s+reboot$/m);
    expect(text).toMatch(/^tinker\s+L4\s+0\s+0\s+0\s+1\s+data-loss$/m);
    expect(text).toContain('~   media/l2/vm[vm] will be updated in place (reboot)');
    expect(text).toContain('-   tinker/l4/stack[ide] will be destroyed (DATA LOSS)');
    expect(text).not.toContain('field0');
    expect(text).toContain('40 changes without impact not listed; every change with its diffs: --detail (or --json)');
    expect(lines.at(-1)).toBe('Plan: 30 to create, 11 to update, 0 to replace, 1 to destroy (1 reboot, 1 data-loss).');
  });

  it('shows every change and diff with --detail, and a short plan in full anyway', () => {
    expect(renderPlanView(big, { detail: true })).toBe(renderPlan(big));
    const small = createPlan({ labVersion: 't', changes: [change('media', 'l2', 'vm', 'update', 'reboot')] });
    expect(renderPlanView(small)).toBe(renderPlan(small));
  });

  it('is what the human reporter draws; detail through its option', () => {
    let out = '';
    createHumanReporter({ stream: { write: (s: string) => (out += s) }, color: false, live: false }).emit({ type: 'plan', plan: big });
    expect(out).toContain('WORST IMPACT');
    out = '';
    createHumanReporter({ stream: { write: (s: string) => (out += s) }, color: false, live: false, detail: true }).emit({ type: 'plan', plan: big });
    expect(out).toContain('field0');
  });
});
