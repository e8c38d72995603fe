import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, Secret, createMemoryReporter } from '@lab/core';
import { SshConnection } from '@lab/ssh';
import { simAvailable, startSimGuests, type SimGuests } from '@lab/testkit';
import { backupData, ensureRestic, restoreData, type DataCaptureIntent, type DataSession, type RepositoryAccess } from '@lab/capture';

/**
 * The `pause` strategy against real Compose stacks: Debian's docker.io and docker-compose 1.29
 * in one guest, a busybox image imported in it (no registry is reachable), and two stacks laid
 * out the way L4 deploys them (`<stacksDir>/<name>/current/compose.yaml` and `.env`).
 */
const sim0 = await simAvailable();
// Local repositories are served to the guest by rclone on this machine (adr/0105).
const rclone = spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0;
const avail = sim0.ok && !rclone ? { ok: false, reason: 'rclone is not installed on this machine (sudo apt-get install rclone)' } : sim0;
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/capture] skipping pause tests: ${avail.reason}`);

const COMPOSE = `services:
  app:
    image: labtest/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do date +%s > /data/heartbeat; sleep 0.2 & wait; done"]
    volumes: ["/srv/appdata:/data"]
    environment: { GREETING: "\${GREETING}" }
`;

describe.skipIf(!avail.ok && !inCi)('pause: stacks stopped around the snapshot and the restore', () => {
  let sim: SimGuests;
  let conn: SshConnection;
  let tmp: string;
  let repo: RepositoryAccess;
  const reporter = createMemoryReporter();
  const guest = () => sim.guests[0]!;
  const sh = (cmd: string) => sim.sh(guest(), cmd);
  const intent: DataCaptureIntent = {
    persona: 'paused',
    repository: { name: 'local', location: { type: 'local', path: '' }, passwordSecret: 'site/restic' },
    paths: ['/srv/appdata'],
    exclude: [],
    retention: { keepLast: 10, daily: 0, weekly: 0, monthly: 0, yearly: 0 },
    consistency: { strategy: 'pause', timeoutS: 120 },
    // `idle` is declared but not running: it must be neither stopped nor started.
    workload: { composeCommand: 'docker-compose', stacksDir: '/opt/lab/stacks', stacks: ['app', 'idle'] },
    drillScope: 'files',
  };
  const session = (i: Partial<DataCaptureIntent> = {}): DataSession => ({ connection: conn, intent: { ...intent, ...i }, reporter });
  const startedAt = async () => (await sh("docker inspect --format '{{.State.Status}} {{.State.StartedAt}}' $(docker ps -aq --filter label=com.docker.compose.project=app)")).trim();

  beforeAll(async () => {
    sim = await startSimGuests(1, 'cappause');
    conn = await SshConnection.open(guest().target);
    tmp = await mkdtemp(join(tmpdir(), 'lab-cap-pause-'));
    repo = { name: 'local', location: { type: 'local', path: join(tmp, 'repo') }, password: new Secret('CANARY-pause-pw-2c41') };
    const stack = (name: string) => `/opt/lab/stacks/${name}/current`;
    await sh(
      [
        'export DEBIAN_FRONTEND=noninteractive',
        'apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io docker-compose busybox-static restic socat >/dev/null || return 1',
        'systemctl start docker; for i in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done',
        'rf=$(mktemp -d) && mkdir -p $rf/bin && cp /bin/busybox $rf/bin/ && for a in sh date sleep; do ln -s busybox $rf/bin/$a; done',
        "tar -C $rf -c . | docker import -c 'CMD [\"/bin/sh\"]' - labtest/busybox:1 >/dev/null",
        'mkdir -p /srv/appdata && echo state > /srv/appdata/state.txt',
        ...['app', 'idle'].map((s) => `mkdir -p ${stack(s)} && printf '%s' '${COMPOSE.replace(/'/g, "'\\''")}' > ${stack(s)}/compose.yaml && echo GREETING=hi > ${stack(s)}/.env`),
        `docker-compose -p app --project-directory ${stack('app')} -f ${stack('app')}/compose.yaml --env-file ${stack('app')}/.env up -d 2>&1 >/dev/null`,
      ].join('\n'),
    );
  }, 300_000);

  afterAll(async () => {
    await conn?.close();
    await sim?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('stops the running stack for the snapshot and starts it again; a stack not running stays down', async () => {
    await ensureRestic(conn);
    const before = await startedAt();
    expect(before).toMatch(/^running /);
    const r = await backupData(session(), repo);
    expect(r.paused).toEqual(['app']);
    const after = await startedAt();
    expect(after).toMatch(/^running /);
    expect(after).not.toBe(before);
    expect(await sh('docker ps -aq --filter label=com.docker.compose.project=idle | wc -l')).toBe('0\n');
  }, 180_000);

  it('an in-place restore stops the stack around it', async () => {
    await sh('echo damaged > /srv/appdata/state.txt');
    const before = await startedAt();
    const r = await restoreData(session(), repo);
    expect(r.paused).toEqual(['app']);
    expect(await sh('cat /srv/appdata/state.txt')).toBe('state\n');
    const after = await startedAt();
    expect(after).toMatch(/^running /);
    expect(after).not.toBe(before);
  }, 120_000);

  it('a snapshot that outlasts the pause budget is interrupted, and the stack runs again', async () => {
    await sh('head -c 200000000 /dev/urandom > /srv/appdata/big.bin');
    const e = await backupData(session({ consistency: { strategy: 'pause', timeoutS: 1 } }), repo).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('LAB_CAPTURE_TIMEOUT');
    expect(await startedAt()).toMatch(/^running /);
    await sh('rm -f /srv/appdata/big.bin');
  }, 120_000);
});
