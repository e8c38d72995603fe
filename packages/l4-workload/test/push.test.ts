import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LabError, createMemoryReporter, renderPlan } from '@lab/core';
import { guardScript, type SshConnection } from '@lab/ssh';
import {
  applyWorkloads,
  normalizeRef,
  parseInspect,
  parseObservation,
  planWorkloads,
  pushImage,
  remoteDetail,
  type DesiredWorkloads,
  type ImageSource,
  type RenderedStack,
  type WorkstationImages,
} from '@lab/l4-workload';
import { parseBuildOutput } from '../src/local-images.js';

const ID_A = `sha256:${'a'.repeat(64)}`;
const ID_B = `sha256:${'b'.repeat(64)}`;

const stack: RenderedStack = {
  name: 'mon', hash: 'h1', state: 'up', profiles: [], pull: 'missing', dependsOn: [],
  health: { containers: true, probes: [], timeoutS: 30 },
  composeText: 'services:\n  grafana:\n    image: grafana/grafana:12.0.1\n', envDisplay: { TZ: 'UTC' }, envDigests: { TZ: 'd' },
  services: { grafana: 's1', prometheus: 's2' },
  images: { grafana: 'lab-local/stand-in:grafana', prometheus: 'lab-local/prometheus:debian' },
  files: [{ path: 'compose.yaml', content: 'x', mode: '0644', digest: 'c1' }],
};
const desired = (over: Partial<DesiredWorkloads> = {}): DesiredWorkloads => ({
  persona: 'monitoring', composeCommand: 'docker-compose', stacksDir: '/opt/lab/stacks', stacks: [stack], imageDelivery: 'push', stage: 'experimental', allowStandIns: false, ...over,
});
const source: WorkstationImages = {
  'lab-local/stand-in:grafana': { id: ID_A, sizeBytes: 2_000_000, standInFor: 'grafana/grafana' },
  'lab-local/prometheus:debian': { id: ID_B, sizeBytes: 100_000_000 },
};
const empty = parseObservation('@@docker yes\n@@compose 1.29.2\n');

describe('image references', () => {
  it('normalises names the way `docker images` prints them', () => {
    expect(normalizeRef('caddy')).toBe('caddy:latest');
    expect(normalizeRef('docker.io/library/caddy:2.6')).toBe('caddy:2.6');
    expect(normalizeRef('localhost:5000/x/y')).toBe('localhost:5000/x/y:latest');
    expect(normalizeRef('lab-local/stand-in:grafana')).toBe('lab-local/stand-in:grafana');
  });

  it('reads the guest images from the observation and the workstation images from docker inspect', () => {
    const obs = parseObservation(`@@docker yes\n@@img lab-local/stand-in:grafana ${ID_A}\n@@img caddy:latest ${ID_B}\n`);
    expect(obs.images).toEqual({ 'lab-local/stand-in:grafana': ID_A, 'caddy:latest': ID_B });
    const inspect = JSON.stringify([{ Id: ID_A, Size: 42, RepoTags: ['lab-local/stand-in:grafana'], Config: { Labels: { 'dev.lab.stand-in': 'grafana/grafana' } } }, { Id: ID_B, Size: 7, RepoTags: ['caddy:latest'], Config: { Labels: null } }]);
    expect(parseInspect(inspect, ['lab-local/stand-in:grafana', 'caddy', 'missing:1'])).toEqual({
      'lab-local/stand-in:grafana': { id: ID_A, sizeBytes: 42, standInFor: 'grafana/grafana' },
      'caddy:latest': { id: ID_B, sizeBytes: 7 },
    });
  });

  it('parses build.sh output', () => {
    expect(parseBuildOutput('noise\n@@image lab-local/stand-in:loki stand-in 0 cached\n@@image lab-local/caddy:debian debian 3 Debian caddy=2.6.2-5\n')).toEqual([
      { image: 'lab-local/stand-in:loki', kind: 'stand-in', seconds: 0, cached: true, what: 'cached' },
      { image: 'lab-local/caddy:debian', kind: 'debian', seconds: 3, cached: false, what: 'Debian caddy=2.6.2-5' },
    ]);
  });
});

describe('push delivery in the plan (pure)', () => {
  it('plans a push of every image the guest lacks, shows it and the stand-in in the plan', () => {
    const plan = planWorkloads(desired(), empty, { labVersion: 't', workstationImages: source });
    const c = plan.changes[0]!;
    expect(c.action).toBe('create');
    const push = (c.after as { push: { ref: string }[] }).push.map((p) => p.ref);
    expect(push).toEqual(['lab-local/prometheus:debian', 'lab-local/stand-in:grafana']);
    expect(c.steps[0]!.description).toMatch(/^push lab-local\/prometheus:debian, lab-local\/stand-in:grafana \(stand-in\) from this workstation/);
    const text = renderPlan(plan);
    expect(text).toContain('+ image lab-local/stand-in:grafana: aaaaaaaaaaaa  (push 1.9 MiB from this workstation over SSH, not in the guest; STAND-IN for grafana/grafana: answers health checks only)');
    expect(text).toMatch(/Info: .*lab-local\/stand-in:grafana: a STAND-IN for grafana\/grafana/);
    expect(plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('pushes nothing when the guest holds the same image IDs; a different ID is pushed and recreates the service', () => {
    const base = ['@@docker yes', '@@compose 1.29.2', '@@stack mon', '@@current h1', '@@sum ' + 'c1'.padEnd(64, '0') + '  ./compose.yaml'];
    const ctr = (svc: string, hash: string) => `@@ctr id-${svc} /mon_${svc}_1 running healthy {"com.docker.compose.project":"mon","com.docker.compose.service":"${svc}","dev.lab.service-hash":"${hash}","dev.lab.stack":"mon"}`;
    const want = desired({ stacks: [{ ...stack, files: [{ ...stack.files[0]!, digest: 'c1'.padEnd(64, '0') }] }] });
    const same = parseObservation([...base, ctr('grafana', 's1'), ctr('prometheus', 's2'), `@@img lab-local/stand-in:grafana ${ID_A}`, `@@img lab-local/prometheus:debian ${ID_B}`].join('\n'));
    expect(planWorkloads(want, same, { labVersion: 't', workstationImages: source }).changes[0]!.action).toBe('noop');
    const older = parseObservation([...base, ctr('grafana', 's1'), ctr('prometheus', 's2'), `@@img lab-local/stand-in:grafana ${ID_A}`, `@@img lab-local/prometheus:debian sha256:${'c'.repeat(64)}`].join('\n'));
    const c = planWorkloads(want, older, { labVersion: 't', workstationImages: source }).changes[0]!;
    expect([c.action, c.impact, c.reason]).toEqual(['update', 'restart', 'the guest lacks an image of this stack']);
    expect(c.diff).toContainEqual({ path: 'image lab-local/prometheus:debian', before: 'cccccccccccc', after: 'bbbbbbbbbbbb', note: 'push 95 MiB from this workstation over SSH' });
    expect(c.diff).toContainEqual({ path: 'services.prometheus', before: 'running', after: 'recreated', impact: 'restart' });
    // Registry delivery never plans a push.
    expect(planWorkloads({ ...want, imageDelivery: 'registry' }, older, { labVersion: 't', workstationImages: source }).changes[0]!.action).toBe('noop');
  });

  it('refuses a stand-in on a stable persona unless lab.yaml allows stand-ins, and names the fix', () => {
    const plan = planWorkloads(desired({ stage: 'stable' }), empty, { labVersion: 't', workstationImages: source });
    const errors = plan.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['LAB_L4_STAND_IN_REFUSED']);
    expect(errors[0]!.summary).toBe('monitoring: stack mon, service grafana would run lab-local/stand-in:grafana, a stand-in for grafana/grafana that answers health checks only, on a stable persona');
    expect(errors[0]!.hint).toContain('workloads.allowStandIns: true');
    const allowed = planWorkloads(desired({ stage: 'stable', allowStandIns: true }), empty, { labVersion: 't', workstationImages: source });
    expect(allowed.diagnostics.map((d) => [d.code, d.severity])).toEqual([['LAB_L4_STAND_IN', 'info']]);
  });

  it('is an error to push an image the workstation does not hold', () => {
    const plan = planWorkloads(desired(), empty, { labVersion: 't', workstationImages: { 'lab-local/stand-in:grafana': source['lab-local/stand-in:grafana']! } });
    const e = plan.diagnostics.find((d) => d.code === 'LAB_L4_IMAGE_NOT_ON_WORKSTATION')!;
    expect(e.severity).toBe('error');
    expect(e.hint).toContain('tools/test-images/build.sh');
  });

  it('refuses to apply a plan the guard refused, before touching the guest', async () => {
    const plan = planWorkloads(desired({ stage: 'stable' }), empty, { labVersion: 't', workstationImages: source });
    const conn = { label: 'never', script: () => Promise.reject(new Error('must not run')) } as unknown as SshConnection;
    await expect(applyWorkloads({ desired: desired({ stage: 'stable' }), plan, connection: conn, reporter: createMemoryReporter(), labVersion: 't' })).rejects.toMatchObject({ code: 'LAB_L4_PLAN_INVALID' });
  });
});

/** A connection whose scripts and commands answer from a table (no guest). */
function fakeConnection(answers: { preflight: string; load?: { code: number; stdout?: string; stderr?: string }; after?: string }) {
  const calls: string[] = [];
  const conn = {
    label: 'ops@10.0.10.20',
    async script(body: string) {
      calls.push(body.split('\n')[0]!);
      if (body.includes('@@free')) return { code: 0, stdout: answers.preflight, stderr: '', durationMs: 1 };
      return { code: 0, stdout: answers.after ?? '', stderr: '', durationMs: 1 };
    },
    async exec(command: string, o: { stdin?: Readable }) {
      calls.push(command);
      let n = 0;
      for await (const chunk of o.stdin!) n += (chunk as Buffer).length;
      calls.push(`received ${n}`);
      const l = answers.load ?? { code: 0 };
      return { code: l.code, stdout: l.stdout ?? '', stderr: l.stderr ?? '', durationMs: 1 };
    },
  };
  return { conn: conn as unknown as SshConnection, calls };
}

function fakeSource(bytes: number, fail = false): ImageSource {
  return {
    inspect: async () => source,
    save() {
      const s = new PassThrough();
      setImmediate(() => s.end(Buffer.alloc(bytes, 1)));
      return { stream: s, done: fail ? Promise.reject(new LabError({ code: 'LAB_L4_WORKSTATION_DOCKER', summary: 'docker save x failed' })) : Promise.resolve() };
    },
  };
}

describe('pushImage (fake transport)', () => {
  const p = { ref: 'lab-local/prometheus:debian', id: ID_B, sizeBytes: 100_000_000 };

  it('skips an image the guest already holds with that ID', async () => {
    const f = fakeConnection({ preflight: `@@id ${ID_B}\n@@free 999999999999\n` });
    expect(await pushImage({ connection: f.conn, guest: 'monitoring', source: fakeSource(10), reporter: createMemoryReporter() }, p)).toBe('present');
    expect(f.calls.some((c) => c === 'docker load')).toBe(false);
  });

  it('streams docker save into docker load with byte progress, then checks the ID', async () => {
    const f = fakeConnection({ preflight: '@@id \n@@free 999999999999\n', after: `${ID_B}\n` });
    const reporter = createMemoryReporter();
    expect(await pushImage({ connection: f.conn, guest: 'monitoring', source: fakeSource(300_000), reporter }, p)).toBe('pushed');
    expect(f.calls).toContain('received 300000');
    const progress = reporter.events.filter((e) => e.type === 'step.progress');
    expect(progress.at(-1)).toMatchObject({ bytes: 300_000, totalBytes: 100_000_000, percent: 100 });
  });

  it('names the guest and the image when the guest disk is too small (before sending) or fills up (during the load)', async () => {
    const small = fakeConnection({ preflight: '@@id \n@@free 1000\n' });
    const e1 = await pushImage({ connection: small.conn, guest: 'monitoring', source: fakeSource(10), reporter: createMemoryReporter() }, p).catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'LAB_L4_GUEST_DISK_FULL', summary: expect.stringMatching(/^guest monitoring has no room for image lab-local\/prometheus:debian: it needs about 159 MiB, 1000 B is free$/) });
    expect(small.calls).not.toContain('docker load');
    const full = fakeConnection({ preflight: '@@id \n@@free 999999999999\n', load: { code: 1, stderr: 'Error processing tar file(exit status 1): write /usr/bin/prometheus: no space left on device\n' } });
    const e2 = await pushImage({ connection: full.conn, guest: 'monitoring', source: fakeSource(10), reporter: createMemoryReporter() }, p).catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'LAB_L4_GUEST_DISK_FULL', summary: 'guest monitoring has no room for image lab-local/prometheus:debian', detail: expect.stringContaining('no space left on device') });
  });

  it('reports a cut transfer (docker save died) so a re-run pushes again', async () => {
    const f = fakeConnection({ preflight: '@@id \n@@free 999999999999\n', load: { code: 1, stderr: 'unexpected EOF\n' } });
    await expect(pushImage({ connection: f.conn, guest: 'monitoring', source: fakeSource(10, true), reporter: createMemoryReporter() }, p)).rejects.toMatchObject({ code: 'LAB_L4_WORKSTATION_DOCKER' });
  });
});

describe('remote command errors show the tool\'s own last lines (issue #15)', () => {
  it('keeps stdout and stderr, never an empty detail', () => {
    expect(remoteDetail({ stdout: '', stderr: '' })).toBe('(the command printed nothing)');
    expect(remoteDetail({ stdout: 'only stdout\n', stderr: '' })).toBe('only stdout');
    expect(remoteDetail({ stdout: 'a\n', stderr: 'b\n' })).toBe('stdout:\na\nstderr:\nb');
  });

  // A guest stand-in: the scripts L4 sends run in a local bash, with docker and docker-compose
  // replaced by scripts that fail the way a registry lookup does.
  const dir = mkdtempSync(join(tmpdir(), 'lab-l4-errors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows why `docker-compose up -d` failed', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\ncase "$1" in info) exit 0 ;; *) exit 0 ;; esac\n');
    writeFileSync(join(bin, 'docker-compose'), '#!/bin/sh\ncase "$1" in version) echo 1.29.2 ;; esac\nfor a; do [ "$a" = up ] && { echo "Pulling web (nginx:1.27)..." ; echo "ERROR: Get \\"https://registry-1.docker.io/v2/\\": dial tcp: lookup registry-1.docker.io: no such host" >&2; exit 1; }; done\nexit 0\n');
    chmodSync(join(bin, 'docker'), 0o755);
    chmodSync(join(bin, 'docker-compose'), 0o755);
    const run = async (body: string) => {
      const r = spawnSync('bash', ['-c', guardScript(body)], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, durationMs: 1 };
    };
    const conn = { label: 'ops@10.0.30.40', script: run, exec: run } as unknown as SshConnection;
    const web: RenderedStack = { ...stack, name: 'web', services: { web: 's1' }, images: { web: 'nginx:1.27' }, files: [{ path: 'compose.yaml', content: 'services: {}\n', mode: '0644', digest: 'x' }] };
    const d = desired({ persona: 'tinker', stacksDir: join(dir, 'stacks'), stacks: [web], imageDelivery: 'registry' });
    const plan = planWorkloads(d, parseObservation('@@docker yes\n@@compose 1.29.2\n'), { labVersion: 't' });
    const error = await applyWorkloads({ desired: d, plan, connection: conn, reporter: createMemoryReporter(), labVersion: 't' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).summary).toBe('up web failed on ops@10.0.30.40 (exit 1)');
    expect((error as LabError).detail).toContain('Pulling web (nginx:1.27)...');
    expect((error as LabError).detail).toContain('lookup registry-1.docker.io: no such host');
  });
});
