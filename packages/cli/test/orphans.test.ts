import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPath, pveArray, pveRecord } from '@lab/pve';
import { readJournal } from '@lab/engine';
import { lab } from './_harness.js';
import { startScratchSim } from './_scratch-sim.js';
import type { SimProcess } from './_sim-process.js';
import type { ScratchLab } from '../src/scratch-lab.js';

// A lab-managed VM whose persona was deleted from Git: drift reports it, destroy --orphan removes
// it, keeping its data disk unless --destroy-data. Records-only guests on the simulator.
let s: ScratchLab;
let sim: SimProcess | undefined;

beforeAll(async () => {
  ({ scratch: s, sim } = await startScratchSim('lab-orphans-'));
  for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'identity,tinker', '-y']]) {
    const r = await lab(...argv, '--root', s.root);
    expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
  }
  // identity leaves Git; its VM (130, with a persistent data disk) stays on the cluster.
  rmSync(join(s.root, 'personas/identity'), { recursive: true });
}, 240_000);

afterAll(async () => {
  await sim?.stop();
});

const volumes = async (node: string): Promise<string[]> => pveArray(await sim!.admin().get(apiPath('nodes', node, 'storage', 'local-lvm', 'content'))).map((v) => String(pveRecord(v)['volid']));

describe('orphan VMs', () => {
  it('lab drift reports the orphan (exit 2) with how to destroy it', async () => {
    const r = await lab('drift', '--layer', 'l2', '--root', s.root);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain('1 orphan VM (persona no longer in Git)');
    expect(r.stdout).toMatch(/orphan VM 130 \(identity\) on pve\d, running: its persona is no longer in Git; data disk data kept unless --destroy-data — `lab destroy --orphan 130`/);
    const json = JSON.parse((await lab('drift', '--layer', 'l2', '--json', '--root', s.root)).stdout) as { verdict: string; counts: { orphans: number }; orphans: unknown[] };
    expect(json).toMatchObject({ verdict: 'drifted', counts: { orphans: 1 }, orphans: [{ persona: 'identity', vmid: 130, status: 'running', dataDisks: ['data'] }] });
  }, 60_000);

  it('lab destroy --orphan shows the plan first, refuses what is not an orphan, and keeps the data disk', async () => {
    const notOrphan = await lab('destroy', '--orphan', '140', '-y', '--root', s.root);
    expect(notOrphan.code).toBe(1);
    expect(notOrphan.stderr).toContain('LAB_ORPHAN_NOT_FOUND');
    expect(notOrphan.stderr).toContain('orphans now: 130 (identity)');

    const unconfirmed = await lab('destroy', '--orphan', '130', '--root', s.root);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('identity/l2/vm');
    expect(unconfirmed.stderr).toContain('detached and retained');
    // identity was a stable persona with vm.protection: the orphan keeps Proxmox's protection flag.
    expect(unconfirmed.stderr).toContain('VM 130 (orphan of identity) has protection=1; destroy is refused');
    const node = (JSON.parse((await lab('drift', '--layer', 'l2', '--json', '--root', s.root)).stdout) as { orphans: { node: string }[] }).orphans[0]!.node;
    await sim!.admin().put(apiPath('nodes', node, 'qemu', '130', 'config'), { protection: 0 });
    const asked = await lab('destroy', '--orphan', '130', '--root', s.root);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain('LAB_CONFIRM_REQUIRED');

    const r = await lab('destroy', '--orphan', '130', '-y', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/destroyed orphan VM 130 \(identity\); kept its data disk\(s\) local-lvm:vm-999999999-lab_identity_data/);
    expect(await volumes(node)).toContain('local-lvm:vm-999999999-lab_identity_data');
    const [entry] = (await readJournal(s.root)).entries;
    expect(entry).toMatchObject({ command: 'destroy', personas: ['identity'], result: 'ok', details: { orphan: 130 } });

    const after = await lab('drift', '--layer', 'l2', '--json', '--root', s.root);
    expect(after.code, after.stdout).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ orphans: [] });
  }, 120_000);
});
