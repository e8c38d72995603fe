import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lab } from './_harness.js';
import { startScratchSim, type ScratchSim } from './_scratch-sim.js';

// Issue #14: a node that loses power and boots again keeps every VM (records, configs); a VM
// without onboot is stopped afterwards, and re-applying L2 starts it and converges at once.

const PROBE = `name: probe
description: A records-only guest on pve2 for the power-loss test.
vm:
  node: pve2
  image: debian-12@stable
  cores: 1
  memory: 512MiB
  onboot: false
  disks:
    - { name: root, size: 4G, storage: local-lvm }
  nics:
    - { bridge: vmbr0, vlan: 30, ip: 10.0.30.63/24, gateway: 10.0.30.1 }
`;
let s: ScratchSim;
beforeAll(async () => {
  s = await startScratchSim('lab-nodeloss-');
}, 120_000);
afterAll(async () => { await s?.sim.stop(); });

it('after a power loss of its node, lab apply --layer l2 starts the VM and the lab converges', async () => {
  // The example personas go; the mixins stay (lab.yaml's baked image includes them).
  for (const d of readdirSync(join(s.scratch.root, 'personas'))) if (d !== '_mixins') rmSync(join(s.scratch.root, 'personas', d), { recursive: true });
  mkdirSync(join(s.scratch.root, 'personas/probe'), { recursive: true });
  writeFileSync(join(s.scratch.root, 'personas/probe/persona.yaml'), PROBE);
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
