import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, Secret, createMemoryReporter, serializePlan } from '@lab/core';
import { loadPersona } from '@lab/intent';
import { SshConnection } from '@lab/ssh';
import { applyWorkloads, observeWorkloads, planWorkloads, renderWorkloads } from '@lab/l4-workload';
import { simAvailable, startSimGuests, tempLabRoot, type SimGuests } from './_sim.js';

/**
 * L4 against one real guest (Debian 12 in the simulator, reached through its jump host) running
 * Debian's docker.io + docker-compose 1.29. No registry is reachable, so the test imports a
 * busybox-static root filesystem as an image inside the guest. One guest for the whole file;
 * the tests build on each other in order.
 */
const avail = await simAvailable();
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/l4-workload] skipping stack tests: ${avail.reason}`);

const TOKEN = 's3cr3t-token-value';
const secrets = { get: async (name: string) => (name === 'w4/token' ? new Secret(TOKEN) : Promise.reject(new Error(`no secret ${name}`))) };

function compose(healthTest: string): string {
  return `services:
  web:
    image: labtest/busybox:1
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["18080:8080"]
    volumes: ["./www:/www:ro", "/srv/data/web:/data"]
    environment:
      GREETING: \${GREETING}
      TOKEN: \${TOKEN}
    healthcheck:
      test: ["CMD", "sh", "-c", "${healthTest}"]
      interval: 1s
      retries: 2
`;
}

function persona(stacks: boolean, timeout = 30): string {
  return `name: w4
vm:
  image: debian-12@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
    - { name: data, size: 8G, storage: local-lvm, persistent: true, mount: /srv/data }
  nics:
    - { bridge: vmbr0, ip: 10.77.0.10/24, gateway: 10.77.0.1 }
workloads:
  composeCommand: docker-compose
${stacks ? `  stacks:
    - name: web
      compose: compose.yaml
      env: { GREETING: hello, TOKEN: { secret: w4/token } }
      files:
        - { path: www/index.html, content: "hello from lab\\n" }
      health:
        timeout: ${timeout}
        probes:
          - { name: page, http: http://127.0.0.1:18080/index.html, contains: hello }
` : '  stacks: []\n'}`;
}

describe.skipIf(!avail.ok && !inCi)('L4 stacks on a real guest (docker-compose 1.29)', () => {
  let sim: SimGuests;
  let root: string;
  let conn: SshConnection;
  const guest = () => sim.guests[0]!;

  beforeAll(async () => {
    sim = await startSimGuests(1, 'l4');
    await sim.sh(guest(), [
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io docker-compose busybox-static >/dev/null || return 1',
      'systemctl start docker; for i in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done',
      'rf=$(mktemp -d) && mkdir -p $rf/bin && cp /bin/busybox $rf/bin/ && for a in sh httpd test sleep cat; do ln -s busybox $rf/bin/$a; done',
      'tar -C $rf -c . | docker import -c \'CMD ["/bin/sh"]\' - labtest/busybox:1 >/dev/null',
    ].join('\n'));
    root = await tempLabRoot({ 'personas/w4/persona.yaml': persona(true), 'personas/w4/compose.yaml': compose('test -f /www/index.html') });
    conn = await SshConnection.open(guest().target);
  }, 300_000);

  afterAll(async () => {
    await conn?.close();
    await sim?.close();
  });

  async function cycle(reporter = createMemoryReporter()) {
    const p = await loadPersona(root, 'w4');
    const { desired, warnings } = await renderWorkloads({ persona: p, root, secrets });
    const observed = await observeWorkloads({ connection: conn, stacksDir: desired.stacksDir, composeCommand: desired.composeCommand });
    const plan = planWorkloads(desired, observed, { labVersion: 'test', warnings });
    return { desired, plan, reporter, apply: () => applyWorkloads({ desired, plan, connection: conn, reporter, labVersion: 'test' }) };
  }

  const ids = async () => (await sim.sh(guest(), 'docker ps -aq --no-trunc --filter label=com.docker.compose.project=web')).trim();

  it('creates the stack: release, 0600 env, healthy, secrets never in the plan or events', async () => {
    const c = await cycle();
    expect(c.plan.changes.map((x) => [x.address, x.action])).toEqual([['w4/l4/stack[web]', 'create']]);
    await c.apply();
    const text = serializePlan(c.plan) + JSON.stringify(c.reporter.events);
    expect(text).not.toContain(TOKEN);
    const hash = c.desired.stacks[0]!.hash;
    const out = await sim.sh(guest(), `cd /opt/lab/stacks/web && readlink current && stat -c '%a %U' current/.env && cat state.json && bash -c 'exec 5<>/dev/tcp/127.0.0.1/18080; printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" >&5; cat <&5'`);
    expect(out).toContain(`releases/${hash}`);
    expect(out).toContain('600 root');
    expect(out).toContain(`"lastGood": "${hash}"`);
    expect(out).toContain('hello from lab');
    expect(await sim.sh(guest(), "docker inspect --format '{{.State.Health.Status}}' $(docker ps -q --filter label=com.docker.compose.project=web)")).toContain('healthy');
  }, 180_000);

  it('applies twice without changing anything: container IDs unchanged', async () => {
    const before = await ids();
    const c = await cycle();
    expect(c.plan.changes.every((x) => x.action === 'noop')).toBe(true);
    await c.apply();
    expect(await ids()).toBe(before);
  }, 120_000);

  it('shows a stopped container and a hand-edited release as drift, and apply restores both', async () => {
    await sim.sh(guest(), 'docker stop $(docker ps -q --filter label=com.docker.compose.project=web) >/dev/null && echo "# edited" >> /opt/lab/stacks/web/current/compose.yaml');
    const c = await cycle();
    const ch = c.plan.changes[0]!;
    expect(ch.action).toBe('update');
    expect(ch.reason).toMatch(/service web is exited/);
    expect(ch.reason).toMatch(/release files changed on the host: compose.yaml/);
    await c.apply();
    const again = await cycle();
    expect(again.plan.changes.every((x) => x.action === 'noop')).toBe(true);
    expect(await sim.sh(guest(), 'docker ps --filter label=com.docker.compose.project=web --format "{{.State}}"')).toContain('running');
  }, 180_000);

  it('rolls back to the last-good release when the new one fails its health gate', async () => {
    const good = (await cycle()).desired.stacks[0]!.hash;
    await writeFile(join(root, 'personas/w4/compose.yaml'), compose('test -f /www/missing.html'));
    await writeFile(join(root, 'personas/w4/persona.yaml'), persona(true, 8));
    const c = await cycle();
    expect(c.plan.changes[0]!.action).toBe('update');
    expect(c.plan.changes[0]!.diff.some((d) => d.path === 'services.web' && d.after === 'recreated' && d.impact === 'restart')).toBe(true);
    const error = await c.apply().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).code).toBe('LAB_L4_HEALTH_FAILED');
    expect((error as LabError).summary).toMatch(new RegExp(`rolled back to ${good}, which is healthy again`));
    // The gate that did not pass is drawn as a failed step (✗), never ✓.
    const events = c.reporter.events as unknown as readonly { type: string; id?: string; title?: string; status?: string }[];
    const gateStart = events.find((e) => e.type === 'step.start' && e.title?.includes('health gate'))!;
    expect(events.find((e) => e.type === 'step.end' && e.id === gateStart.id)).toMatchObject({ status: 'failed' });
    expect((await sim.sh(guest(), 'readlink /opt/lab/stacks/web/current')).trim()).toBe(`releases/${good}`);
    expect(await sim.sh(guest(), "docker inspect --format '{{.State.Health.Status}}' $(docker ps -q --filter label=com.docker.compose.project=web)")).toContain('healthy');
  }, 180_000);

  it('brings a stack removed from the persona down, keeping its data', async () => {
    await writeFile(join(root, 'personas/w4/persona.yaml'), persona(false));
    const c = await cycle();
    expect(c.plan.changes.map((x) => [x.address, x.action, x.impact])).toEqual([['w4/l4/stack[web]', 'delete', 'restart']]);
    await c.apply();
    expect(await ids()).toBe('');
    expect(await sim.sh(guest(), 'ls /opt/lab/stacks; test -d /srv/data/web && echo data-kept')).toContain('data-kept');
  }, 120_000);
});
