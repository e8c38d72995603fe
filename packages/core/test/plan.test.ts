import { describe, expect, it } from 'vitest';
import {
  Secret,
  address,
  createPlan,
  hasChanges,
  mergePlans,
  parsePlan,
  renderPlan,
  renderSummaryLine,
  serializePlan,
  summarizePlan,
  worstImpact,
  type Change,
} from '../src/index.js';

const vm: Change = {
  address: address('media', 'l2', 'vm'),
  layer: 'l2',
  kind: 'vm',
  action: 'update',
  impact: 'reboot',
  diff: [
    { path: 'memory', before: 4096, after: 6144, impact: 'hotplug' },
    { path: 'cores', before: 2, after: 4, impact: 'reboot', note: 'pending until reboot' },
  ],
  sensitivePaths: [],
  steps: [{ kind: 'api', description: 'PUT /nodes/pve1/qemu/120/config' }],
};
const pkg: Change = {
  address: address('media', 'l3', 'apt.package', 'htop'),
  layer: 'l3',
  kind: 'apt.package',
  action: 'create',
  impact: 'none',
  after: { name: 'htop' },
  diff: [{ path: 'state', after: 'present' }],
  sensitivePaths: [],
  steps: [],
};
const env: Change = {
  address: address('media', 'l4', 'compose.stack', 'jellyfin'),
  layer: 'l4',
  kind: 'compose.stack',
  action: 'update',
  impact: 'recreate',
  diff: [{ path: 'env.API_KEY', before: new Secret('old-secret-value'), after: new Secret('new-secret-value') }],
  sensitivePaths: ['env.API_KEY'],
  steps: [],
};
const disk: Change = {
  address: address('tinker', 'l2', 'disk', 'data'),
  layer: 'l2',
  kind: 'disk',
  action: 'delete',
  impact: 'data-loss',
  diff: [],
  sensitivePaths: [],
  steps: [],
};
const noop: Change = { ...pkg, address: address('media', 'l3', 'apt.package', 'curl'), action: 'noop', reason: 'installed (7.88.1)' };

describe('Plan', () => {
  const plan = createPlan({ labVersion: '0.1.0', personas: ['media'], layers: ['l2', 'l3', 'l4'], changes: [vm, pkg, env, disk, noop], createdAt: new Date(0) });

  it('summarises actions and impacts of pending changes only', () => {
    const s = summarizePlan(plan);
    expect([s.create, s.update, s.replace, s.delete, s.noop]).toEqual([1, 2, 0, 1, 1]);
    expect(s.impacts).toMatchObject({ reboot: 1, recreate: 1, 'data-loss': 1, none: 1 });
    expect(hasChanges(plan)).toBe(true);
    expect(hasChanges(createPlan({ labVersion: '0', changes: [noop] }))).toBe(false);
  });

  it('renders symbols, impacts, masked secrets and the summary line', () => {
    const text = renderPlan(plan);
    expect(text).toContain('~   media/l2/vm will be updated in place (reboot)');
    expect(text).toContain('~ cores: 2 → 4  (reboot) (pending until reboot)');
    expect(text).toContain('+   media/l3/apt.package[htop] will be created');
    expect(text).toContain('-   tinker/l2/disk[data] will be destroyed (DATA LOSS)');
    expect(text).toContain('~ env.API_KEY: *** → ***');
    expect(text).not.toContain('secret-value');
    expect(text).not.toContain('apt.package[curl]');
    expect(text.trim().split('\n').at(-1)).toBe(
      'Plan: 1 to create, 2 to update, 0 to replace, 1 to destroy (1 reboot, 1 recreate, 1 data-loss).',
    );
    expect(renderPlan(plan, { showNoop: true })).toContain('# installed (7.88.1)');
  });

  it('prints a text file change as a unified diff under its change', () => {
    const file: Change = { ...pkg, address: address('media', 'l3', 'file', '/etc/motd'), kind: 'file', action: 'update', diff: [], unifiedDiff: '--- a/etc/motd\n+++ b/etc/motd\n@@ -1 +1 @@\n-bye\n+hello\n' };
    const text = renderPlan(createPlan({ labVersion: '0', changes: [file, { ...file, address: address('media', 'l3', 'file', '/etc/x'), action: 'noop' }] }));
    expect(text).toContain('~   media/l3/file[/etc/motd] will be updated in place\n        --- a/etc/motd\n        +++ b/etc/motd\n        @@ -1 +1 @@\n        -bye\n        +hello');
    expect(text).not.toContain('/etc/x');
  });

  it('colours data loss red only when asked', () => {
    expect(renderPlan(plan, { color: true })).toContain('\x1b[31m');
    expect(renderPlan(plan)).not.toContain('\x1b[');
  });

  it('says so when nothing changes', () => {
    expect(renderSummaryLine(createPlan({ labVersion: '0', changes: [noop] }))).toBe('No changes. The lab matches its intent.');
  });

  it('serialises with masked secrets and parses back', () => {
    const text = serializePlan(plan);
    expect(text).not.toContain('secret-value');
    const back = parsePlan(text);
    expect(back.formatVersion).toBe(1);
    expect(back.changes).toHaveLength(5);
  });

  it('refuses other format versions and non-plans with a hint', () => {
    expect(() => parsePlan(JSON.stringify({ ...plan, formatVersion: 99 }))).toThrow(/format 99/);
    expect(() => parsePlan('{')).toThrow(/not valid JSON/);
    expect(() => parsePlan('{"a":1}')).toThrow(/not a lab plan/);
  });

  it('merges layer plans in order', () => {
    const a = createPlan({ labVersion: '0', personas: ['media'], layers: ['l2'], basis: { 'media/l2/vm': 'd1' }, changes: [vm] });
    const b = createPlan({ labVersion: '0', personas: ['media'], layers: ['l3'], basis: { 'media/l3/facts': 'h1' }, changes: [pkg] });
    const m = mergePlans('0', [a, b]);
    expect(m.layers).toEqual(['l2', 'l3']);
    expect(m.personas).toEqual(['media']);
    expect(m.changes.map((c) => c.address)).toEqual([vm.address, pkg.address]);
    expect(m.basis).toEqual({ 'media/l2/vm': 'd1', 'media/l3/facts': 'h1' });
  });

  it('orders impacts by severity', () => {
    expect(worstImpact(['hotplug', 'reboot', 'reload'])).toBe('reboot');
    expect(worstImpact([])).toBe('none');
  });
});
