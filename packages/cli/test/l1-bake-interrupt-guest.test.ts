import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSite } from '@lab/intent';
import { pveArray, pveRecord } from '@lab/pve';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, WORKSPACE } from './_harness.js';
import { startSimProcess, type SimProcess } from './_sim-process.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

const SMALL = { include: [], os: { packages: ['tree'], files: [{ path: '/etc/lab-baked', content: 'baked by lab\n' }] }, network: { bridge: 'vmbr0', vlan: 30, address: '10.0.30.250/24' } };

/**
 * A bake killed in the middle (the lab process gets SIGKILL while L3 converges the bake VMs;
 * the cluster — the simulator in its own process — lives on) converges on the next run: the
 * half-made VMs are rebuilt under their own VMIDs, nothing is duplicated, nothing is left over.
 */
describe.skipIf(!engine)('an interrupted bake (embedded simulator in its own process, Docker guests)', () => {
  let s: ScratchLab;
  let sim: SimProcess;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-bake-kill-'));
    s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      edit: (doc) => {
        const images = doc.get('images') as { items: { get(k: string): unknown }[] };
        doc.setIn(['images', images.items.findIndex((it) => it.get('name') === 'debian-12-docker'), 'bake'], doc.createNode(SMALL));
      },
    });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    sim = await startSimProcess(s.root);
  }, 120_000);
  afterAll(async () => {
    delete process.env['LAB_IMAGE'];
    await sim?.stop();
    if (!s) return;
    const instance = guestInstanceName(join(s.root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }, 120_000);

  async function bakeVms(name: string): Promise<{ vmid: number; template: boolean }[]> {
    const admin = sim.admin();
    const rows = pveArray(await admin.get('/cluster/resources', { type: 'vm' })).map(pveRecord);
    return rows.filter((r) => r['name'] === name).map((r) => ({ vmid: Number(r['vmid']), template: Number(r['template'] ?? 0) === 1 })).sort((a, b) => a.vmid - b.vmid);
  }

  it('killed while converging, converges on re-run with no duplicate and no stray VM', async () => {
    const l0 = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
    expect(l0.code, l0.stderr).toBe(0);
    const image = (await loadSite(s.root)).site.images.find((i) => i.name === 'debian-12-docker')!;
    const name = `tpl-debian-12-docker-${image.stable}`;

    const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'apply', '--layer', 'l1', '-y', '--root', s.root], {
      env: { ...process.env, LAB_IMAGE: 'debian-12-docker' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const killed = await new Promise<boolean>((resolve) => {
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        // L3 has started on a bake VM: kill the lab process there, without warning.
        if (/\[bake-debian-12-docker\] gather facts/.test(stderr) && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve(true);
        }
      });
      child.once('exit', () => resolve(false));
    });
    expect(killed, stderr).toBe(true);
    await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(undefined)));
    const half = await bakeVms(name);
    expect(half.length).toBeGreaterThan(0);
    expect(half.every((v) => !v.template)).toBe(true);

    process.env['LAB_IMAGE'] = 'debian-12-docker';
    const plan = await lab('plan', '--layer', 'l1', '--root', s.root);
    expect(plan.stdout + plan.stderr).toContain('an earlier build did not finish');
    const again = await lab('apply', '--layer', 'l1', '-y', '--root', s.root);
    expect(again.code, again.stderr).toBe(0);
    const done = await bakeVms(name);
    expect(done).toHaveLength(3);
    expect(done.every((v) => v.template)).toBe(true);
    // The half-made VMs were rebuilt under their own VMIDs.
    for (const v of half) expect(done.map((d) => d.vmid)).toContain(v.vmid);
    expect(existsSync(join(s.root, `artifacts/images/debian-12-docker/${image.stable}.json`))).toBe(true);
    const settled = await lab('plan', '--layer', 'l1', '--root', s.root);
    expect(settled.code, settled.stdout + settled.stderr).toBe(0);
  }, 1_200_000);
});
