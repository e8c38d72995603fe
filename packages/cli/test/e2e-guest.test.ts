import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEngineVersion, guestInstanceName } from '@lab/pve-sim';
import { lab, WORKSPACE } from './_harness.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

const engine = await dockerEngineVersion();
if (!engine && process.env.CI === 'true') throw new Error('no Docker engine answers (CI=true): run tools/docker/ensure-dockerd.sh');

/**
 * The layers through the CLI against the embedded simulator with a real Debian guest: the
 * example lab's `identity` persona from nothing to a VM whose OS L3 can inspect over SSH
 * through the node's jump host, with the host key L2 pinned before first boot.
 */
describe.skipIf(!engine)('embedded lab with a real guest (CLI, L0 → L3)', () => {
  let s: ScratchLab;
  let root: string;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-e2e-'));
    s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), valueFor: (n) => `CANARY-${n.replace(/\W/g, '')}-7c1e` });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    root = s.root;
  }, 60_000);
  afterAll(async () => {
    // identity is `protection: true`, so lab refuses to destroy it (as it should); a scratch
    // lab's guests are removed by their simulator instance label instead.
    const instance = guestInstanceName(join(root, '.lab/sim'));
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=lab.pve-sim.instance=${instance}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids]);
  }, 120_000);

  it('L0, L1 and L2 apply; a second L2 plan changes nothing', async () => {
    for (const argv of [['apply', '--layer', 'l0', '-y'], ['apply', '--layer', 'l1', '-y'], ['apply', '--layer', 'l2', '--persona', 'identity', '-y']]) {
      const r = await lab(...argv, '--root', root);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
    }
    const again = await lab('plan', '--layer', 'l2', '--persona', 'identity', '--root', root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('No changes.');
  }, 300_000);

  it('L3 check reaches the guest through the jump host with the pinned key and plans its OS', async () => {
    const r = await lab('check', '--layer', 'l3', '--persona', 'identity', '--root', root, '--json');
    expect([0, 2], r.stderr).toContain(r.code);
    const plan = JSON.parse(r.stdout);
    expect(plan.layers).toEqual(['l3']);
    expect(plan.changes.some((c: { address: string }) => c.address.startsWith('identity/l3/'))).toBe(true);
  }, 120_000);

  it('L3 apply converges the guest (apt inside it), and a second check finds nothing to change', async () => {
    const r = await lab('apply', '--layer', 'l3', '--persona', 'identity', '-y', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('re-verify');
    const again = await lab('check', '--layer', 'l3', '--persona', 'identity', '--root', root);
    expect(again.code, again.stderr).toBe(0);
  }, 600_000);

  it('L4 check plans the stack over SSH with its secrets masked', async () => {
    const r = await lab('check', '--layer', 'l4', '--persona', 'identity', '--root', root, '--json');
    expect(r.code, r.stderr).toBe(2);
    const plan = JSON.parse(r.stdout);
    expect(plan.changes.map((c: { address: string; action: string }) => `${c.address} ${c.action}`)).toContain('identity/l4/stack[vaultwarden] create');
    expect(r.stdout + r.stderr).not.toContain('CANARY-');
  }, 120_000);
});
