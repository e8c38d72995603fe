import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerEngineVersion, ensureGuestImage, removeInstanceGuests } from '../src/guests/index.js';

/**
 * Starting an embedded lab over (`lab demo --fresh`) removes every guest of its simulator
 * instance, whatever its owner pid, and no other instance's: a new simulator on the same state
 * dir would otherwise adopt the old containers with their old host keys.
 */
const engine = await dockerEngineVersion();
const inCi = process.env.CI === 'true';
if (!engine && !inCi) console.warn('remove-instance.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const mine = `rm-test-${process.pid}`;
const other = `rm-other-${process.pid}`;
const names = [`${mine}-a`, `${mine}-b`, `${other}-a`];
const exists = (name: string): boolean => execFileSync('docker', ['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim() === name;

afterAll(() => {
  for (const n of names) execFileSync('docker', ['rm', '-f', n], { stdio: 'ignore' });
});

describe.runIf(engine || inCi)('removeInstanceGuests', () => {
  it('removes the containers of one instance, persistent ones (owner pid 0) too, and leaves other instances alone', { timeout: 300_000 }, async () => {
    const { tag } = await ensureGuestImage();
    for (const [name, instance] of [[names[0]!, mine], [names[1]!, mine], [names[2]!, other]] as const) {
      execFileSync('docker', ['create', '--name', name, '--label', `lab.pve-sim.instance=${instance}`, '--label', 'lab.pve-sim.owner-pid=0', tag, 'true'], { stdio: 'ignore' });
    }
    const r = await removeInstanceGuests(mine);
    expect([...r.containers].sort()).toEqual([names[0], names[1]]);
    expect(names.map(exists)).toEqual([false, false, true]);
  });
});
