import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lab, probePersona, replacePersonas } from './_harness.js';
import { startScratchSim, type ScratchSim } from './_scratch-sim.js';

// Issue #14: a node that loses power and boots again keeps every VM (records, configs); a VM
// without onboot is stopped afterwards, and re-applying L2 starts it and converges at once.

const PROBE = probePersona({ purpose: 'A records-only guest on pve2 for the power-loss test.', octet: 63, node: 'pve2', vmExtra: ['onboot: false'] });
let s: ScratchSim;
beforeAll(async () => {
  s = await startScratchSim('lab-nodeloss-');
}, 120_000);
afterAll(async () => { await s?.sim.stop(); });

it('after a power loss of its node, lab apply --layer l2 starts the VM and the lab converges', async () => {
  replacePersonas(s.scratch.root, { probe: PROBE });
  const up = await lab('up', '-y', '--root', s.scratch.root);
  expect(up.code, up.stderr).toBe(0);
  await s.sim.control('/_sim/nodes/pve2/down', { down: true, powerLoss: true });
  await s.sim.control('/_sim/nodes/pve2/down', { down: false, powerLoss: true });
  const again = await lab('apply', '--layer', 'l2', '--all', '-y', '--root', s.scratch.root);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stderr).toContain('status: stopped → running');
  expect(again.stderr).toContain('wait for the guest agent of probe');
  const check = await lab('check', '--layer', 'l2', '--all', '--root', s.scratch.root);
  expect(check.code, check.stderr).toBe(0);
  expect(check.stderr + check.stdout).toContain('No changes.');
}, 600_000);
