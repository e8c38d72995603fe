import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAvailable, startSimGuests, type SimGuests } from '@lab/testkit';
import { lab, WORKSPACE } from './_harness.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

/**
 * `lab capture data|snapshots|verify|replicate` and `lab restore data` end to end: a scratch
 * copy of the example lab whose lab.yaml points at one real guest behind a real jump host (the
 * test kit's; lab.yaml says `proxmox: remote` and `ssh.jumpHost`, the way a lab on real
 * hardware reaches its guests; no Proxmox API call is needed for data capture), a persona
 * `keeper` capturing /srv/keeper with a hook, two local repositories on this machine, and
 * generated secrets whose values are canaries that must never show.
 */
const sim0 = await simAvailable();
// Local repositories are served to the guest by rclone on this machine (adr/0105).
const rclone = spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0;
const avail = sim0.ok && !rclone ? { ok: false, reason: 'rclone is not installed on this machine (sudo apt-get install rclone)' } : sim0;
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/cli] skipping capture data tests: ${avail.reason}`);

const PERSONA = `name: keeper
vm:
  node: pve1
  image: debian-12@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
  nics:
    - { bridge: vmbr0, vlan: 77, ip: 10.77.0.10/24, gateway: 10.77.0.1 }
capture:
  repository: local
  paths: [/srv/keeper]
  exclude: ["**/tmp"]
  retention: { keepLast: 3, daily: 0, weekly: 0, monthly: 0 }
  consistency:
    strategy: hook
    pre: echo dumped > /srv/keeper/dump.txt
    post: rm -f /srv/keeper/dump.txt
  replicate: { repository: offsite }
  restoreDrill: { scope: files }
`;

describe.skipIf(!avail.ok && !inCi)('lab capture data / restore data against a real guest', () => {
  let sim: SimGuests;
  let s: ScratchLab;
  let root: string;
  const outputs: string[] = [];
  const guest = () => sim.guests[0]!;
  const sh = (cmd: string) => sim.sh(guest(), cmd);
  const run = async (...argv: string[]) => {
    const r = await lab(...argv, '--root', root);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const journal = async () => {
    const dir = join(root, 'journal');
    const files = await readdir(dir).catch(() => [] as string[]);
    const text = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('');
    return { text, entries: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; result: string; personas: string[]; details?: Record<string, unknown> }) };
  };

  beforeAll(async () => {
    sim = await startSimGuests(1, 'capcli');
    const g = guest();
    const base = mkdtempSync(join(tmpdir(), 'lab-capcli-'));
    const keyFile = join(base, 'id_ed25519');
    // The guest connection uses one key for the jump host and the guest: the jump host's.
    await writeFile(keyFile, g.target.jump!.privateKey.reveal(), { mode: 0o600 });
    const publicKey = execFileSync('ssh-keygen', ['-y', '-f', keyFile], { encoding: 'utf8' }).trim();
    await sh(`echo ${JSON.stringify(publicKey)} >> /home/ops/.ssh/authorized_keys`);
    s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      valueFor: (n) => `CANARY-${n.replace(/\W/g, '')}-5d2a`,
      edit: (doc) => {
        doc.set('proxmox', doc.createNode({ mode: 'remote', url: 'https://127.0.0.1:8006', fingerprint: Array(32).fill('AB').join(':'), tokenId: 'lab@pve!lab', tokenSecret: { secret: 'site/pve-token' } }));
        doc.set('ssh', doc.createNode({ user: 'ops', identityFile: keyFile, knownHosts: sim.knownHostsFile, jumpHost: { host: g.target.jump!.host, port: g.target.jump!.port, user: 'root' } }));
        doc.addIn(['bridges', 0, 'vlans'], doc.createNode({ id: 77, name: 'test', cidr: '10.77.0.0/24', gateway: '10.77.0.1' }));
        doc.addIn(['repositories'], doc.createNode({ name: 'offsite', type: 'local', path: '.lab/restic-offsite', password: { secret: 'site/restic-offsite-password' } }));
      },
    });
    root = s.root;
    await mkdir(join(root, 'personas/keeper'), { recursive: true });
    await writeFile(join(root, 'personas/keeper/persona.yaml'), PERSONA);
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    await sh('mkdir -p /srv/keeper/tmp && echo v1 > /srv/keeper/config.json && head -c 50000 /dev/urandom > /srv/keeper/blob && echo scratch > /srv/keeper/tmp/x');
  }, 180_000);

  afterAll(async () => {
    await sim?.close();
  });

  it('captures: creates the repository, runs the hooks, reports the snapshot and journals it', async () => {
    const r = await run('capture', 'data', '--persona', 'keeper');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Captured keeper: snapshot [0-9a-f]{8} in local — 3 files, .* added/m);
    expect(await sh('ls /srv/keeper')).not.toContain('dump.txt');
    const again = await run('capture', 'data', '--persona', 'keeper', '--json');
    expect(again.code, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.snapshot.tags).toEqual(expect.arrayContaining(['persona:keeper']));
    expect(doc.files).toBe(3); // config.json, blob, dump.txt: tmp/ is excluded
    const { entries } = await journal();
    const captures = entries.filter((e) => e.command === 'capture');
    expect(captures.map((e) => [e.result, e.personas])).toEqual([['ok', ['keeper']], ['ok', ['keeper']]]);
    expect(captures[1]!.details).toMatchObject({ snapshot: doc.snapshot.id, files: 3 });
  }, 150_000);

  it('lists the snapshots and flags the newest unverified until a drill passes', async () => {
    const before = await run('capture', 'snapshots', '--persona', 'keeper');
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/latest snapshot [0-9a-f]{8} is unverified/);
    const drill = await run('capture', 'verify', '--persona', 'keeper');
    expect(drill.code, drill.stderr).toBe(0);
    expect(drill.stdout).toMatch(/^Verified keeper: snapshot [0-9a-f]{8} restored and checked — 3 files/m);
    const verify = (await journal()).entries.filter((e) => e.command === 'verify');
    expect(verify).toHaveLength(1);
    expect(verify[0]!.details).toMatchObject({ verified: true, files: 3 });
    const after = JSON.parse((await run('capture', 'snapshots', '--persona', 'keeper', '--json')).stdout);
    expect(after.latest).toBe('verified');
    expect(after.snapshots).toHaveLength(2);
    expect(after.snapshots[0].verified).toBe(true);
    expect(after.snapshots[1].verified).toBe(false);
  }, 120_000);

  it('replicates to the persona’s replica repository', async () => {
    const r = await run('capture', 'replicate', '--persona', 'keeper', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ from: 'local', to: 'offsite', copied: 2, skipped: 0 });
    expect(await readdir(join(root, '.lab/restic-offsite'))).toContain('config');
  }, 120_000);

  it('restores in place only after confirmation, showing what it overwrites', async () => {
    await sh('echo v2 > /srv/keeper/config.json && rm /srv/keeper/blob');
    const refused = await run('restore', 'data', '--persona', 'keeper');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 files will be overwritten:\n\s+\/srv\/keeper\/config.json/);
    expect(refused.stderr).toMatch(/2 files will be created/); // blob, dump.txt
    expect(refused.stderr).toContain('LAB_CONFIRM_REQUIRED');
    expect(await sh('cat /srv/keeper/config.json')).toBe('v2\n');
    const r = await run('restore', 'data', '--persona', 'keeper', '-y');
    expect(r.code, r.stderr).toBe(0);
    expect(await sh('cat /srv/keeper/config.json && test -f /srv/keeper/blob && echo blob')).toBe('v1\nblob\n');
    expect((await journal()).entries.filter((e) => e.command === 'restore').map((e) => e.result)).toEqual(['ok']);
  }, 120_000);

  it('restores into a directory of the guest', async () => {
    const r = await run('restore', 'data', '--persona', 'keeper', '--target', '/var/tmp/keeper-copy');
    expect(r.code, r.stderr).toBe(0);
    expect(await sh('cat /var/tmp/keeper-copy/srv/keeper/config.json')).toBe('v1\n');
  }, 60_000);

  it('says what to do for a persona that captures nothing', async () => {
    const r = await run('capture', 'data', '--persona', 'tinker');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LAB_CAPTURE_NOT_DECLARED');
  }, 30_000);

  it('never prints or journals a secret', async () => {
    const text = outputs.join('\n') + (await journal()).text;
    expect(text).not.toContain('CANARY-');
  });
});
