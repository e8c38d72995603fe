import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, formatHolder, holderGone, lockHolder, parseHolder, processStart, type LockHolder } from '../src/index.js';
import { REPO, startL2, type L2Fixture } from './_fixture.js';

/** Start a real lab process holding `persona`'s lock; resolves once it holds it. */
function holder(fx: L2Fixture, persona: string): Promise<{ child: ChildProcess; pid: number }> {
  const arg = JSON.stringify({ url: fx.sim.url, fingerprint: fx.sim.fingerprint, tokenId: fx.sim.adminToken.id, secret: fx.sim.adminToken.secret, persona });
  const child = spawn(process.execPath, ['--conditions', '@lab/source', '--import', 'tsx', path.join(import.meta.dirname, 'lock-holder.ts'), arg], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, pid: (JSON.parse(line) as { pid: number }).pid });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code}: ${err.slice(-2000)}`)));
  });
}

const exited = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

/** adr/0162: a lock records its holder; one whose holder is provably gone is taken over at once. */
describe('persona locks and killed processes', () => {
  let fx: L2Fixture;
  beforeAll(async () => {
    fx = await startL2();
  }, 120_000);
  afterAll(async () => fx?.close());

  it('a lock held by a live process is refused, naming the holder and since when; after kill -9 it is taken over at once', async () => {
    const { child, pid } = await holder(fx, 'tinker');
    try {
      const h = (await lockHolder(fx.client, 'tinker'))!;
      expect(h).toMatchObject({ host: hostname(), pid });
      expect(h.pstart).toBe(processStart(pid));
      const refused = await acquireLock(fx.client, 'tinker').catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'LAB_L2_LOCKED' });
      expect((refused as Error & { summary: string }).summary).toMatch(new RegExp(`pid ${pid} on ${hostname()}\\), since \\d{4}-\\d\\d-\\d\\dT`));
      expect((refused as { hint: string }).hint).toMatch(/--break-lock/);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    // The holder is gone (same host, pid dead): no wait for the one-hour expiry.
    const mine = await acquireLock(fx.client, 'tinker');
    expect(mine.tookOver).toMatchObject({ why: 'gone', holder: { pid } });
    // And a whole apply goes through.
    await mine.release();
    const { child: c2 } = await holder(fx, 'tinker');
    c2.kill('SIGKILL');
    await exited(c2);
    const plan = await fx.plan('normal', { personas: fx.lab.personas.filter((p) => p.name === 'tinker') });
    await fx.apply(plan, { lock: {} });
    expect(await lockHolder(fx.client, 'tinker')).toBeUndefined();
  }, 120_000);

  it('judges a pid reused by another process, a rebooted host and a remote holder correctly', () => {
    const me = hostname();
    const base: LockHolder = { owner: 'x', host: me, pid: process.pid, since: 0, expires: Date.now() + 60_000 };
    expect(holderGone({ ...base, pstart: processStart(process.pid)! })).toBe(false);
    // Same pid, another start time: the pid was reused.
    expect(holderGone({ ...base, pstart: '1' })).toBe(true);
    expect(holderGone({ ...base, boot: 'another-boot' })).toBe(true);
    // Never judged from here: another host, even with a dead-looking pid.
    expect(holderGone({ ...base, host: `${me}-elsewhere`, pid: 999_999_999 })).toBe(false);
    // The comment round-trips, and the older form is still read.
    const h = { ...base, pstart: '123', boot: 'b', run: 'r1' };
    expect(parseHolder(formatHolder(h))).toEqual(h);
    expect(parseHolder('lab-lock owner=ws1:4242:abcd1234 expires=99')).toMatchObject({ host: 'ws1', pid: 4242, expires: 99 });
  });

  it('a remote holder waits for expiry, unless --break-lock', async () => {
    const remote = await acquireLock(fx.client, 'media', { owner: 'remote', isGone: () => false });
    await expect(acquireLock(fx.client, 'media')).rejects.toMatchObject({ code: 'LAB_L2_LOCKED' });
    const broken = await acquireLock(fx.client, 'media', { breakLock: true });
    expect(broken.tookOver).toMatchObject({ why: 'broken', holder: { owner: 'remote' } });
    await remote.release(); // no longer its lock: must not remove the new one
    expect(await lockHolder(fx.client, 'media')).toMatchObject({ owner: broken.owner });
    await broken.release();
  }, 60_000);
});
