import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, Secret, createMemoryReporter } from '@lab/core';
import { SshConnection } from '@lab/ssh';
import { simAvailable, startSimGuests, type SimGuests } from '@lab/testkit';
import {
  backupData,
  ensureRestic,
  listSnapshots,
  previewRestore,
  replicateData,
  restoreData,
  verifyRestore,
  type DataCaptureIntent,
  type DataSession,
  type RepositoryAccess,
} from '@lab/capture';

/**
 * Data capture against one real guest (Debian 12 from the simulator, reached through its jump
 * host), Debian's restic installed in it by `ensureRestic`, and local repositories in temp
 * directories of this machine served through the reverse-forwarded socket. The tests build on
 * each other in order.
 */
const sim0 = await simAvailable();
// Local repositories are served to the guest by rclone on this machine (adr/0105).
const rclone = spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0;
const avail = sim0.ok && !rclone ? { ok: false, reason: 'rclone is not installed on this machine (sudo apt-get install rclone)' } : sim0;
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/capture] skipping data capture tests: ${avail.reason}`);

const CANARY = 'CANARY-restic-pw-7f3e9a';
const CANARY2 = 'CANARY-replica-pw-51b0';

describe.skipIf(!avail.ok && !inCi)('restic data capture in a real guest', () => {
  let sim: SimGuests;
  let conn: SshConnection;
  let repoDir: string;
  let replicaDir: string;
  const reporter = createMemoryReporter();
  const seen: string[] = [];
  const guest = () => sim.guests[0]!;
  const sh = (cmd: string) => sim.sh(guest(), cmd);

  let repo: RepositoryAccess;
  let replica: RepositoryAccess;
  const base: DataCaptureIntent = {
    persona: 'cap',
    repository: { name: 'local', location: { type: 'local', path: '' }, passwordSecret: 'site/restic' },
    paths: ['/srv/appdata', '/srv/missing'],
    exclude: ['**/cache'],
    retention: { keepLast: 100, daily: 0, weekly: 0, monthly: 0, yearly: 0 },
    consistency: { strategy: 'none', timeoutS: 60 },
    workload: { composeCommand: 'docker compose', stacksDir: '/opt/lab/stacks', stacks: [] },
    drillScope: 'files',
  };
  const session = (intent: Partial<DataCaptureIntent> = {}): DataSession => ({ connection: conn, intent: { ...base, ...intent }, reporter });
  /** Remember what the operator could see, to prove the password is never in it. */
  const keep = <T>(value: T): T => {
    seen.push(JSON.stringify(value));
    return value;
  };
  const failure = async (p: Promise<unknown>): Promise<LabError> => {
    try {
      await p;
    } catch (error) {
      if (!(error instanceof LabError)) throw error;
      seen.push(JSON.stringify({ summary: error.summary, detail: error.detail, hint: error.hint, message: error.message }));
      return error;
    }
    throw new Error('expected a failure');
  };
  const sums = (dir: string) => sh(`cd ${dir} && find . -type f ! -path '*/cache/*' -print0 | sort -z | xargs -0 sha256sum`);

  beforeAll(async () => {
    sim = await startSimGuests(1, 'cap');
    conn = await SshConnection.open(guest().target);
    const tmp = await mkdtemp(join(tmpdir(), 'lab-cap-'));
    repoDir = join(tmp, 'repo');
    replicaDir = join(tmp, 'replica');
    repo = { name: 'local', location: { type: 'local', path: repoDir }, password: new Secret(CANARY) };
    replica = { name: 'offsite', location: { type: 'local', path: replicaDir }, password: new Secret(CANARY2) };
    await sh(
      [
        'mkdir -p /srv/appdata/sub /srv/appdata/cache',
        'echo "hello, data" > /srv/appdata/a.txt',
        'head -c 300000 /dev/urandom > /srv/appdata/sub/b.bin',
        'echo junk > /srv/appdata/cache/junk.tmp',
        'ln -s a.txt /srv/appdata/link',
      ].join(' && '),
    );
  }, 180_000);

  afterAll(async () => {
    await conn?.close();
    await sim?.close();
    if (repoDir) await rm(join(repoDir, '..'), { recursive: true, force: true });
  });

  it('installs Debian’s restic (and socat) in the guest once', async () => {
    const first = keep(await ensureRestic(conn, reporter));
    expect(first.version).toMatch(/^0\.1[4-9]\.|^[1-9]/);
    const again = await ensureRestic(conn);
    expect(again.installed).toBe(false);
  }, 180_000);

  it('creates the repository on this machine and backs up the paths, with tags, host and excludes', async () => {
    const r = keep(await backupData(session(), repo, { commit: 'abc1234' }));
    expect(r.snapshot.id).toMatch(/^[0-9a-f]{64}$/);
    expect(r.snapshot.tags).toEqual(expect.arrayContaining(['persona:cap', 'commit:abc1234']));
    expect(r.snapshot.commit).toBe('abc1234');
    expect(r.files).toBe(2); // a.txt, sub/b.bin (and the symlink): cache/ is excluded
    expect(r.bytesAdded).toBeGreaterThan(300_000);
    expect(r.warnings).toEqual(['capture path /srv/missing does not exist in the guest and was skipped']);
    expect((await readdir(repoDir)).sort()).toEqual(expect.arrayContaining(['config', 'data', 'index', 'keys', 'snapshots']));
    // The bridge leaves nothing behind in the guest.
    expect((await sh('ls -d /tmp/lab-restic.* 2>/dev/null | wc -l')).trim()).toBe('0');
  }, 120_000);

  it('restores in place: shows what it overwrites, brings back changed and deleted files, leaves extra ones', async () => {
    const before = await sums('/srv/appdata');
    await sh('echo changed > /srv/appdata/a.txt && rm /srv/appdata/sub/b.bin && echo new > /srv/appdata/extra.txt');
    const preview = keep(await previewRestore(session(), repo));
    expect(preview.overwrite).toEqual(['/srv/appdata/a.txt']);
    expect(preview.create).toEqual(['/srv/appdata/sub/b.bin']);
    expect(preview.extra).toEqual(expect.arrayContaining(['/srv/appdata/extra.txt', '/srv/appdata/cache/junk.tmp']));
    const r = keep(await restoreData(session(), repo));
    expect(r.target).toBe('/');
    expect(r.files).toBe(2);
    expect((await sums('/srv/appdata')).split('\n').filter((l) => !l.includes('extra.txt')).join('\n')).toBe(before);
    expect(await sh('cat /srv/appdata/extra.txt')).toBe('new\n');
  }, 120_000);

  it('restores into a target directory without touching the live files; excluded files are not in it', async () => {
    const r = keep(await restoreData(session(), repo, { target: '/var/tmp/restored' }));
    expect(r.target).toBe('/var/tmp/restored');
    expect(await sums('/var/tmp/restored/srv/appdata')).toBe((await sums('/srv/appdata')).split('\n').filter((l) => !l.includes('extra.txt')).join('\n'));
    expect((await sh('ls /var/tmp/restored/srv/appdata')).split('\n')).not.toContain('cache');
    expect(await sh('readlink /var/tmp/restored/srv/appdata/link')).toBe('a.txt\n');
  }, 120_000);

  it('runs the pre and post hooks around the snapshot; post also runs when the backup fails, pre failing skips it', async () => {
    const hook = { strategy: 'hook' as const, timeoutS: 30, pre: 'echo dump > /srv/appdata/dump.sql', post: 'rm -f /srv/appdata/dump.sql; date +%s%N > /var/tmp/post-ran' };
    const ok = keep(await backupData(session({ consistency: hook }), repo));
    expect(ok.files).toBe(4); // dump.sql and extra.txt too
    expect(await sh('test ! -e /srv/appdata/dump.sql && cat /var/tmp/post-ran')).toMatch(/^\d+/);
    await sh('rm -f /var/tmp/post-ran');

    // An invalid exclude pattern makes restic itself fail, after pre.
    const bad = await failure(backupData(session({ consistency: hook, exclude: ['[unclosed'] }), repo));
    expect(bad.code).toBe('LAB_CAPTURE_RESTIC_FAILED');
    expect(await sh('test ! -e /srv/appdata/dump.sql && cat /var/tmp/post-ran')).toMatch(/^\d+/);
    await sh('rm -f /var/tmp/post-ran');

    const count = (await listSnapshots(session(), repo)).length;
    const pre = await failure(backupData(session({ consistency: { ...hook, pre: 'echo cannot dump >&2; exit 7' } }), repo));
    expect(pre.code).toBe('LAB_CAPTURE_HOOK_FAILED');
    expect(pre.detail).toContain('cannot dump');
    expect(await sh('cat /var/tmp/post-ran')).toMatch(/^\d+/);
    expect((await listSnapshots(session(), repo)).length).toBe(count);
  }, 120_000);

  it('forgets by the retention policy, only this persona’s snapshots', async () => {
    const other = keep(await backupData({ ...session(), intent: { ...base, persona: 'other', paths: ['/srv/appdata/a.txt'] } }, repo));
    const r = keep(await backupData(session({ retention: { keepLast: 2, daily: 0, weekly: 0, monthly: 0, yearly: 0 } }), repo));
    expect(r.kept).toBe(2);
    expect(r.forgotten).toBeGreaterThan(0);
    const mine = await listSnapshots(session(), repo);
    expect(mine.map((s) => s.id)).toEqual([r.snapshot.id, expect.any(String)]);
    const theirs = await listSnapshots({ ...session(), intent: { ...base, persona: 'other' } }, repo);
    expect(theirs.map((s) => s.id)).toEqual([other.snapshot.id]);
  }, 120_000);

  it('replicates the persona’s snapshots to a second repository, and a second run copies nothing', async () => {
    const first = keep(await replicateData(session(), repo, replica));
    expect(first).toMatchObject({ from: 'local', to: 'offsite', copied: 2, skipped: 0 });
    const again = keep(await replicateData(session(), repo, replica));
    expect(again).toMatchObject({ copied: 0, skipped: 2 });
    const copies = await listSnapshots(session(), replica);
    const originals = await listSnapshots(session(), repo);
    expect(copies.map((s) => s.time)).toEqual(originals.map((s) => s.time));
    expect((await readFile(join(replicaDir, 'config'))).length).toBeGreaterThan(0);
  }, 120_000);

  it('drills a restore of the newest snapshot: check, restore --verify, same tree; the scratch directory goes', async () => {
    const r = keep(await verifyRestore(session({ drillScope: 'stacks' }), repo));
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.files).toBe(3); // a.txt, b.bin, extra.txt: the post hook removed dump.sql
    expect(r.notes.join()).toMatch(/stacks/);
    expect((await sh('ls -d /var/tmp/lab-drill.* 2>/dev/null | wc -l')).trim()).toBe('0');
  }, 120_000);

  it('a wrong password is a clear error that does not contain it', async () => {
    const e = await failure(listSnapshots(session(), { ...repo, password: new Secret('CANARY-wrong-pw-0000') }));
    expect(e.code).toBe('LAB_CAPTURE_WRONG_PASSWORD');
    expect(JSON.stringify(e)).not.toContain('CANARY-wrong-pw-0000');
  }, 60_000);

  it('the drill fails when a pack of the repository is damaged', async () => {
    const dataDir = join(repoDir, 'data');
    const packs: { file: string; size: number }[] = [];
    for (const sub of await readdir(dataDir)) {
      for (const f of await readdir(join(dataDir, sub))) packs.push({ file: join(dataDir, sub, f), size: (await stat(join(dataDir, sub, f))).size });
    }
    const biggest = packs.sort((a, b) => b.size - a.size)[0]!;
    const bytes = await readFile(biggest.file);
    bytes.fill(0x41, 1000, 1200);
    await writeFile(biggest.file, bytes);
    const r = keep(await verifyRestore(session(), repo));
    expect(r.verified).toBe(false);
    expect(r.problems.join('\n')).toMatch(/restoring snapshot [0-9a-f]{8} failed|restic check found damage/);
    expect((await sh('ls -d /var/tmp/lab-drill.* 2>/dev/null | wc -l')).trim()).toBe('0');
  }, 120_000);

  it('never shows the repository passwords, nor leaves them in the guest', async () => {
    const everything = seen.join('\n') + JSON.stringify(reporter.events);
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain(CANARY2);
    expect(await sh(`grep -rlsF -e ${CANARY} -e ${CANARY2} /tmp /var/tmp /root /etc /srv 2>/dev/null | wc -l`)).toBe('0\n');
  }, 60_000);
});
