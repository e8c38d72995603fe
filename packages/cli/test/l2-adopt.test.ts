import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { silentReporter } from '@lab/core';
import { loadLab } from '@lab/intent';
import { apiPath, createPveClient } from '@lab/pve';
import { lab } from './_harness.js';
import { startScratchSim } from './_scratch-sim.js';
import type { SimProcess } from './_sim-process.js';
import { createLayerContext } from '@lab/engine';
import type { ScratchLab } from '../src/scratch-lab.js';

// `lab adopt` end to end through main(): a VM made by hand on the embedded simulator becomes a
// persona whose L2 plan is empty. The simulator runs in its own process (`lab sim start`), as
// a real cluster would, so the VM started by hand is still running when `lab` connects.
let s: ScratchLab;
let sim: SimProcess | undefined;
const VMID = 150;

afterAll(async () => {
  await sim?.stop();
});

beforeAll(async () => {
  ({ scratch: s, sim } = await startScratchSim('lab-adopt-'));
  const l0 = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
  expect(l0.code, l0.stderr).toBe(0);
  // By hand, as an operator would in the web UI: no lab tags, no marker.
  const session = createLayerContext(await loadLab(s.root), [], silentReporter, { allowReboot: false, destroyData: false, targets: [] });
  try {
    const ep = await session.proxmox();
    const admin = ep.admin!;
    const client = createPveClient({ url: ep.url, ...(ep.fingerprint ? { fingerprint: ep.fingerprint } : {}), auth: { kind: 'token', tokenId: admin.tokenId, secret: admin.tokenSecret } });
    session.onClose(() => client.close());
    await client.runTask('POST', apiPath('nodes', 'pve1', 'qemu'), {
      vmid: VMID, name: 'handmade', cores: 2, memory: 2048, scsihw: 'virtio-scsi-single', scsi0: 'local-lvm:4', ide2: 'local-lvm:cloudinit',
      net0: 'virtio,bridge=vmbr0,tag=30', ipconfig0: 'ip=10.0.30.77/24,gw=10.0.30.1', onboot: 1, description: 'my old box',
    }, { pollMs: 20 });
    await client.runTask('POST', apiPath('nodes', 'pve1', 'qemu', String(VMID), 'status', 'start'), undefined, { pollMs: 20 });
  } finally {
    await session.close();
  }
}, 180_000);

describe('lab adopt on the embedded simulator', () => {
  it('writes the persona from the VM and the next L2 plan has no changes', async () => {
    expect(existsSync(join(s.root, 'personas', 'oldbox'))).toBe(false);
    const r = await lab('adopt', '--vmid', String(VMID), '--persona', 'oldbox', '--image', 'debian-12@stable', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`adopted VM ${VMID} as persona oldbox`);
    const persona = parse(readFileSync(join(s.root, 'personas', 'oldbox', 'persona.yaml'), 'utf8'));
    expect(persona).toMatchObject({
      name: 'oldbox',
      description: 'my old box',
      vm: { node: 'pve1', vmid: VMID, image: 'debian-12@stable', cores: 2, memory: '2GiB', disks: [{ name: 'root', size: '4GiB', storage: 'local-lvm' }], nics: [{ bridge: 'vmbr0', vlan: 30, ip: '10.0.30.77/24', gateway: '10.0.30.1' }], onboot: true },
    });

    const plan = await lab('plan', '--layer', 'l2', '--persona', 'oldbox', '--root', s.root);
    expect(plan.code, plan.stderr).toBe(0);

    // Adopting again into another persona is refused: the VM is lab's now.
    const twice = await lab('adopt', '--vmid', String(VMID), '--persona', 'other', '--image', 'debian-12@stable', '--root', s.root);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('LAB_L2_ADOPT_OWNED');
    expect(existsSync(join(s.root, 'personas', 'other'))).toBe(false);
  }, 180_000);
});
