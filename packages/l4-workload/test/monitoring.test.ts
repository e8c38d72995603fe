import { readFile, readdir } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Secret, createMemoryReporter } from '@lab/core';
import { loadPersona } from '@lab/intent';
import { SshConnection } from '@lab/ssh';
import { applyWorkloads, observeWorkloads, planWorkloads, readImageOverrides, renderWorkloads, resolveImage, type ImageOverrides } from '@lab/l4-workload';
import { simAvailable, startSimGuests, tempLabRoot, type SimGuests } from './_sim.js';

/**
 * The monitoring persona as it ships (personas/monitoring + the mixins it includes), deployed
 * through L4's public API on one real guest (Debian 12, docker.io, docker-compose 1.29) with
 * the test lane's image overrides: Prometheus and Alertmanager are Debian's real programs built
 * into images inside the guest (tools/test-images), Grafana, Loki and Alloy are health-only
 * stand-ins. The node exporter is Debian's package on the guest, as the mixin installs it.
 * Every Prometheus query goes from inside the guest to its loopback, over SSH.
 */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MON = join(REPO, 'personas/monitoring');
const IMAGES = join(REPO, 'tools/test-images');

/** The contract with `lab metrics` (adr/0112); the rules may use nothing else. */
const LAB_METRICS = [
  'lab_info',
  'lab_last_apply_timestamp_seconds',
  'lab_last_apply_success',
  'lab_last_apply_duration_seconds',
  'lab_drift_changes',
  'lab_last_verified_restore_timestamp_seconds',
  'lab_backup_last_success_timestamp_seconds',
];

type Json = Record<string, unknown>;
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr?: string; datasource?: { type: string; uid: string } }[];
}

const text = (path: string) => readFile(path, 'utf8');
const yamlOf = async (path: string) => parse(await text(path)) as Json;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

async function recipes(): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const f of (await readdir(join(IMAGES, 'recipes'))).filter((x) => x.endsWith('.conf'))) {
    const vars: Record<string, string> = {};
    for (const m of (await text(join(IMAGES, 'recipes', f))).matchAll(/^([A-Z_]+)=(.*)$/gm)) vars[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
    out.set(f.replace(/\.conf$/, ''), vars);
  }
  return out;
}

async function dashboard() {
  return JSON.parse(await text(join(MON, 'config/grafana/dashboards/lab-overview.json'))) as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; datasource: { type: string; uid: string } }[] } };
}

const secrets = {
  get: async (name: string) => {
    if (name === 'monitoring/grafana-admin-password') return new Secret('test-admin-password');
    // Alertmanager's receiver: nothing listens there, and nothing needs to.
    if (name === 'monitoring/ntfy-topic-url') return new Secret('http://127.0.0.1:9/lab-test');
    throw new Error(`no secret ${name}`);
  },
};

async function labRoot(): Promise<string> {
  const files: Record<string, string> = {};
  for (const dir of ['personas/monitoring', 'personas/_mixins']) {
    for (const f of await filesUnder(join(REPO, dir))) files[relative(REPO, f)] = await text(f);
  }
  return tempLabRoot(files);
}

describe('monitoring persona files (no guest needed)', () => {
  it('provisions datasources with fixed uids that point at the stack services', async () => {
    const ds = (await yamlOf(join(MON, 'config/grafana/datasources.yaml'))) as { apiVersion: number; datasources: { uid: string; type: string; url: string }[] };
    const compose = (await yamlOf(join(MON, 'compose/monitoring.yaml'))) as { services: Record<string, { ports?: string[] }> };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources.map((d) => [d.uid, d.type])).toEqual([['prometheus', 'prometheus'], ['loki', 'loki'], ['alertmanager', 'alertmanager']]);
    for (const d of ds.datasources) {
      const u = new URL(d.url);
      const svc = compose.services[u.hostname];
      expect(svc, `${d.url} names a service of the stack`).toBeDefined();
      expect(svc!.ports?.some((p) => p.endsWith(`:${u.port}`)), `${d.url}: the service listens on ${u.port}`).toBe(true);
    }
  });

  it('ships a dashboard Grafana can provision: valid JSON, a tidy grid, every query on a provisioned datasource', async () => {
    const d = await dashboard();
    const uids = new Map(((await yamlOf(join(MON, 'config/grafana/datasources.yaml'))).datasources as { uid: string; type: string }[]).map((x) => [x.uid, x.type]));
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(d.title).toBe('Lab overview');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    const cells = new Set<string>();
    for (const p of d.panels) {
      const g = p.gridPos;
      expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: inside the 24-column grid`).toBe(true);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`).toBe(false);
        cells.add(`${x},${y}`);
      }
      const refs = [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)].filter((x) => x !== undefined);
      for (const r of refs) expect(uids.get(r.uid), `${p.title}: datasource ${r.uid}`).toBe(r.type);
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
      expect(new Set(p.targets!.map((t) => t.refId)).size).toBe(p.targets!.length);
      for (const t of p.targets!) expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
    }
    for (const v of d.templating.list) expect(uids.get(v.datasource.uid)).toBe(v.datasource.type);
  });

  it('puts the dashboard where its provider looks, as the persona releases it and Grafana mounts it', async () => {
    const provider = (await yamlOf(join(MON, 'config/grafana/dashboards.yaml'))) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    const persona = (await yamlOf(join(MON, 'persona.yaml'))) as { workloads: { stacks: { name: string; files: { path: string; source?: string }[] }[] } };
    const compose = (await yamlOf(join(MON, 'compose/monitoring.yaml'))) as { services: { grafana: { volumes: string[] } } };
    const files = persona.workloads.stacks.find((s) => s.name === 'monitoring')!.files;
    const mount = compose.services.grafana.volumes.map((v) => v.split(':')).find(([, c]) => c === '/etc/grafana/provisioning')!;
    const inContainer = (path: string) => posix.join('/etc/grafana/provisioning', posix.relative(posix.normalize(mount[0]!), path));
    const json = files.find((f) => f.source === 'config/grafana/dashboards/lab-overview.json')!;
    const yaml = files.find((f) => f.source === 'config/grafana/dashboards.yaml')!;
    expect(provider.apiVersion).toBe(1);
    expect(posix.dirname(inContainer(json.path))).toBe(provider.providers[0]!.options.path);
    expect(posix.dirname(inContainer(yaml.path))).toBe('/etc/grafana/provisioning/dashboards');
  });

  it('writes alert rules for host down, disk full, drift, failed apply, stale backup and restore drill, on lab metrics that exist', async () => {
    const names: string[] = [];
    for (const f of ['node-rules.yml', 'lab-rules.yml']) {
      const doc = (await yamlOf(join(MON, 'config', f))) as { groups: { rules: { alert: string; expr: string }[] }[] };
      for (const r of doc.groups.flatMap((g) => g.rules)) {
        names.push(r.alert);
        for (const m of r.expr.match(/\blab_[a-z_]+/g) ?? []) expect(LAB_METRICS, `${r.alert} uses ${m}`).toContain(m);
      }
    }
    expect(names).toEqual(expect.arrayContaining(['NodeDown', 'DiskAlmostFull', 'LabDriftPresent', 'LabApplyFailed', 'LabBackupStale', 'LabRestoreDrillStale']));
    const tested = (await Promise.all(['node-alerts.test.yml', 'lab-alerts.test.yml'].map((f) => text(join(MON, 'tests', f))))).join('\n');
    for (const n of names) expect(tested, `${n} has a promtool unit test`).toContain(`alertname: ${n}`);
  });

  it('maps every image the persona runs to an image a recipe builds, and nothing else', async () => {
    const overrides = await readImageOverrides(join(IMAGES, 'image-overrides.yaml'));
    const built = [...(await recipes()).values()].map((r) => r.IMAGE);
    expect([...Object.values(overrides)].sort()).toEqual([...built].sort());
    const root = await labRoot();
    const { desired } = await renderWorkloads({ persona: await loadPersona(root, 'monitoring'), root, secrets });
    for (const s of desired.stacks) {
      const compose = parse(s.composeText) as { services: Record<string, { image: string }> };
      for (const [svc, { image }] of Object.entries(compose.services)) expect(resolveImage(image, overrides)?.image, `${s.name}/${svc} (${image})`).toBeDefined();
    }
  });
});

const avail = await simAvailable();
const inCi = process.env.CI === 'true';
if (!avail.ok && !inCi) console.warn(`[@lab/l4-workload] skipping the monitoring guest test: ${avail.reason}`);

describe.skipIf(!avail.ok && !inCi)('monitoring persona on a real guest, with the test lane images', () => {
  let sim: SimGuests;
  let conn: SshConnection;
  let root: string;
  let overrides: ImageOverrides;
  const built: string[] = [];
  const sh = (cmd: string) => sim.sh(sim.guests[0]!, cmd);
  const api = async <T = Json>(url: string) => JSON.parse(await sh(`curl -fsS ${url}`)) as T;

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  beforeAll(async () => {
    const t = Date.now();
    sim = await startSimGuests(1, 'mon');
    const booted = Date.now();
    await sh([
      'export DEBIAN_FRONTEND=noninteractive',
      // What the docker and node-exporter mixins install (L3's job in a real run).
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io docker-compose prometheus-node-exporter curl >/dev/null || return 1',
      'systemctl start docker; for i in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done',
    ].join('\n'));
    const installed = Date.now();
    const upload = [join(IMAGES, 'build.sh'), ...(await filesUnder(join(IMAGES, 'recipes')))];
    const writes = await Promise.all(upload.map(async (f) => `mkdir -p /tmp/test-images/${posix.dirname(relative(IMAGES, f))} && echo ${Buffer.from(await text(f)).toString('base64')} | base64 -d > /tmp/test-images/${relative(IMAGES, f)}`));
    const t0 = Date.now();
    // Only what this persona runs (the other recipes need libraries a guest build need not fetch).
    const out = await sh(`${writes.join('\n')}\nbash /tmp/test-images/build.sh prometheus alertmanager grafana loki alloy`);
    built.push(...out.split('\n').filter((l) => l.startsWith('@@image ')));
    const s = (a: number, b: number) => `${((b - a) / 1000).toFixed(1)} s`;
    console.info(`[monitoring] guest ${s(t, booted)}, docker + node exporter ${s(booted, installed)}, test images ${s(t0, Date.now())}:\n${built.join('\n')}`);
    overrides = await readImageOverrides(join(IMAGES, 'image-overrides.yaml'));
    root = await labRoot();
    const persona = await loadPersona(root, 'monitoring');
    // The persona's data directories (L3's job in a real run), owned as the images expect.
    await sh(persona.persona.os.directories.map((d) => `install -d -o ${d.owner} -g ${d.group} -m ${d.mode} ${d.path}`).join('\n'));
    // What `lab metrics` writes for the textfile collector: drift on one persona.
    await sh(`cat > /var/lib/prometheus/node-exporter/lab.prom <<'EOF'
lab_info{version="test"} 1
lab_drift_changes{persona="tinker"} 3
lab_drift_changes{persona="media"} 0
lab_last_apply_success{persona="tinker"} 1
EOF`);
    conn = await SshConnection.open(sim.guests[0]!.target);
  }, 900_000);

  afterAll(async () => {
    await conn?.close();
    await sim?.close();
  });

  async function cycle() {
    const persona = await loadPersona(root, 'monitoring');
    const { desired, warnings } = await renderWorkloads({ persona, root, secrets, imageOverrides: overrides });
    const observed = await observeWorkloads({ connection: conn, stacksDir: desired.stacksDir, composeCommand: desired.composeCommand });
    const plan = planWorkloads(desired, observed, { labVersion: 'test', warnings });
    return { desired, plan, apply: () => applyWorkloads({ desired, plan, connection: conn, reporter: createMemoryReporter(), labVersion: 'test' }) };
  }

  it('builds the real programs from Debian packages and labels the stand-ins as such', () => {
    expect(built.map((l) => l.split(' ').slice(1, 3).join(' ')).sort()).toEqual([
      'lab-local/alertmanager:debian debian',
      'lab-local/prometheus:debian debian',
      'lab-local/stand-in:alloy stand-in',
      'lab-local/stand-in:grafana stand-in',
      'lab-local/stand-in:loki stand-in',
    ]);
  });

  it('deploys both stacks through L4 with the overrides noted in the plan, and every health gate passes', async () => {
    const c = await cycle();
    expect(c.plan.changes.map((x) => [x.address, x.action])).toEqual([['monitoring/l4/stack[logs]', 'create'], ['monitoring/l4/stack[monitoring]', 'create']]);
    const notes = c.plan.diagnostics.filter((d) => d.code === 'LAB_L4_IMAGE_OVERRIDE').map((d) => d.summary);
    expect(notes).toEqual(expect.arrayContaining([expect.stringMatching(/service prometheus runs lab-local\/prometheus:debian in place of prom\/prometheus:v/), expect.stringMatching(/service alloy runs lab-local\/stand-in:alloy/)]));
    expect(notes).toHaveLength(5);
    const result = await c.apply();
    expect(result.outcomes.map((o) => [o.stack, o.health?.healthy])).toEqual([['logs', true], ['monitoring', true]]);
    const running = await sh("docker ps --format '{{.Image}} {{.Status}}' | sort");
    expect(running).toMatch(/lab-local\/prometheus:debian Up .*\(healthy\)/);
    expect(running).toMatch(/lab-local\/alertmanager:debian Up .*\(healthy\)/);
    expect((await cycle()).plan.changes.every((x) => x.action === 'noop')).toBe(true);
  }, 240_000);

  it('Prometheus scrapes the node exporter on the host and loads the host and lab rules', async () => {
    const target = await until('the node exporter target up', async () => {
      const t = await api<{ data: { activeTargets: { labels: { instance: string; job: string }; health: string }[] } }>('http://127.0.0.1:9090/api/v1/targets');
      return t.data.activeTargets.find((x) => x.labels.instance === 'monitoring.home.arpa:9100' && x.health === 'up');
    }, 90_000);
    expect(target.labels.job).toBe('node');
    const cpu = await api<{ data: { result: unknown[] } }>(`'http://127.0.0.1:9090/api/v1/query?query=node_cpu_seconds_total%7Binstance%3D%22monitoring.home.arpa%3A9100%22%7D'`);
    expect(cpu.data.result.length).toBeGreaterThan(0);
    const rules = await api<{ data: { groups: { name: string; rules: { name: string; health: string }[] }[] } }>('http://127.0.0.1:9090/api/v1/rules');
    const byGroup = Object.fromEntries(rules.data.groups.map((g) => [g.name, g.rules.map((r) => r.name)]));
    expect(byGroup.node).toEqual(['NodeDown', 'DiskAlmostFull', 'DiskFillsWithinADay', 'RebootRequired']);
    expect(byGroup.lab).toEqual(['LabDriftPresent', 'LabApplyFailed', 'LabBackupStale', 'LabRestoreDrillStale', 'LabMetricsAbsent']);
    expect(rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health === 'err')).toEqual([]);
  }, 120_000);

  it('fires the drift alert from a textfile metric and hands it to Alertmanager', async () => {
    const alert = await until('LabDriftPresent firing', async () => {
      const a = await api<{ data: { alerts: { labels: Record<string, string>; state: string; annotations: Record<string, string> }[] } }>('http://127.0.0.1:9090/api/v1/alerts');
      return a.data.alerts.find((x) => x.labels.alertname === 'LabDriftPresent' && x.state === 'firing');
    }, 90_000);
    expect(alert.labels).toMatchObject({ persona: 'tinker', severity: 'warn', instance: 'monitoring.home.arpa:9100' });
    expect(alert.annotations.summary).toBe('persona tinker differs from Git in 3 place(s)');
    const firing = await api<{ data: { alerts: { labels: Record<string, string> }[] } }>('http://127.0.0.1:9090/api/v1/alerts');
    expect(firing.data.alerts.filter((x) => x.labels.alertname === 'LabDriftPresent').map((x) => x.labels.persona)).toEqual(['tinker']);
    expect(firing.data.alerts.some((x) => x.labels.alertname === 'LabApplyFailed')).toBe(false);
    const received = await until('the alert in Alertmanager', async () => {
      const am = await api<{ labels: Record<string, string>; status: { state: string } }[]>('http://127.0.0.1:9093/api/v2/alerts');
      return am.find((x) => x.labels.alertname === 'LabDriftPresent');
    }, 60_000);
    expect(received.status.state).toBe('active');
  }, 180_000);

  it("passes promtool's checks and the rules' unit tests, with Debian's promtool", async () => {
    const files = ['config/prometheus.yml', 'config/node-rules.yml', 'config/lab-rules.yml', 'tests/node-alerts.test.yml', 'tests/lab-alerts.test.yml'];
    const writes = await Promise.all(files.map(async (f) => `mkdir -p /tmp/mon/${posix.dirname(f)} && echo ${Buffer.from(await text(join(MON, f))).toString('base64')} | base64 -d > /tmp/mon/${f}`));
    const promtool = 'docker run --rm -v /tmp/mon:/mon:ro -w /mon/tests --entrypoint promtool lab-local/prometheus:debian';
    const out = await sh(`${writes.join('\n')}\nchmod -R a+rX /tmp/mon\n${promtool} check rules /mon/config/node-rules.yml /mon/config/lab-rules.yml 2>&1\n${promtool} test rules node-alerts.test.yml lab-alerts.test.yml 2>&1`);
    expect(out).toContain('SUCCESS: 4 rules found');
    expect(out).toContain('SUCCESS: 5 rules found');
    expect(out.match(/^\s+SUCCESS$/gm)).toHaveLength(2);
    expect(out).not.toContain('FAILED');
    // The deployed configuration, as the running Prometheus reads it.
    expect(await sh("docker exec $(docker ps -q --filter label=com.docker.compose.service=prometheus) promtool check config /etc/prometheus/prometheus.yml 2>&1")).toContain('is valid prometheus config file syntax');
  }, 120_000);

  it('runs every Prometheus query of the dashboard on the real Prometheus without an error', async () => {
    const d = await dashboard();
    const exprs = d.panels.filter((p) => p.datasource?.type === 'prometheus').flatMap((p) => p.targets!.map((t) => [p.title, t.expr!] as const));
    expect(exprs.length).toBeGreaterThan(10);
    for (const [title, expr] of exprs) {
      // Grafana's variables, as Grafana would fill them in.
      const q = expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
      const r = await api<{ status: string; data: { result: unknown[] } }>(`--data-urlencode ${shellQuote(`query=${q}`)} http://127.0.0.1:9090/api/v1/query`);
      expect(r.status, title).toBe('success');
    }
    const drift = await api<{ data: { result: { value: [number, string] }[] } }>(`--data-urlencode ${shellQuote('query=count(lab_drift_changes > 0) or vector(0)')} http://127.0.0.1:9090/api/v1/query`);
    expect(drift.data.result[0]?.value[1]).toBe('1');
  }, 120_000);
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
