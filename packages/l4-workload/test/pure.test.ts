import { describe, expect, it } from 'vitest';
import { healthScript, labChecks, parseCompose, parseHealth, parseHealthStatus, parseObservation, planWorkloads, type DesiredWorkloads, type RenderedStack } from '@lab/l4-workload';

describe('compose validation', () => {
  it('reports schema errors at file:line:col', () => {
    const r = parseCompose('services:\n  web:\n    image: x:1\n    portz: [1]\n    restart: 5\n', { file: 'personas/a/compose.yaml' });
    expect(r.diagnostics.map((d) => [d.summary, d.source?.line, d.source?.column])).toEqual([
      ['services.web.portz: unknown key "portz"', 4, 5],
      ['services.web.restart must be string', 5, 5],
    ]);
  });

  it('applies lab rules: floating tags in stable personas, duplicate host ports, data outside persistent paths', () => {
    const a = parseCompose('services:\n  a:\n    image: nginx\n    ports: ["80:80"]\n    volumes: ["/var/a:/a", "/etc/localtime:/etc/localtime:ro", "/srv/data/a:/d"]\n', { file: 'a.yaml' });
    const b = parseCompose('x-lab: { allowFloatingTags: true }\nservices:\n  b:\n    image: nginx:latest\n    ports: ["127.0.0.1:80:8080"]\n    volumes: ["cache:/c"]\n', { file: 'b.yaml' });
    const d = labChecks([{ stack: 'a', ...a }, { stack: 'b', ...b }], { stage: 'stable', dataPaths: ['/srv/data'] });
    expect(d.map((x) => [x.code, x.severity, x.source?.file, x.source?.line])).toEqual([
      ['LAB_L4_FLOATING_TAG', 'error', 'a.yaml', 3],
      ['LAB_L4_VOLUME_OUTSIDE_DATA', 'error', 'a.yaml', 5],
      ['LAB_L4_PORT_CONFLICT', 'error', 'b.yaml', 5],
      ['LAB_L4_NAMED_VOLUME', 'warning', 'b.yaml', 6],
    ]);
  });
});

const stack: RenderedStack = {
  name: 'web', hash: 'h2', state: 'up', profiles: [], pull: 'missing', dependsOn: [],
  health: { containers: true, probes: [], timeoutS: 30 },
  composeText: 'services: {}\n', envDisplay: { A: '1', T: '***' }, envDigests: { A: 'da', T: 'dt2' },
  services: { web: 's2' },
  images: { web: 'nginx:1.27' },
  files: [{ path: 'compose.yaml', content: 'x', mode: '0644', digest: 'c2' }, { path: '.env', content: 'y', mode: '0600', digest: 'e2' }],
};
const desired: DesiredWorkloads = { persona: 'p', composeCommand: 'docker-compose', stacksDir: '/opt/lab/stacks', stacks: [stack], imageDelivery: 'registry', stage: 'experimental', allowStandIns: false };
const manifest = (hash: string) => `@@manifest ${Buffer.from(JSON.stringify({ formatVersion: 1, stack: 'web', hash, compose: 'services: {}\n', env: { A: '1', T: '***' }, envDigests: { A: 'da', T: 'dt1' }, services: { web: 's1' }, files: {} })).toString('base64')}`;
const ctr = (hash: string, state = 'running') => `@@ctr abc /web_web_1 ${state} healthy {"com.docker.compose.project":"web","com.docker.compose.service":"web","com.docker.compose.config-hash":"cfg","dev.lab.service-hash":"${hash}","dev.lab.stack":"web"}`;
const sum = (c: string, e: string) => [`@@sum ${c.padEnd(64, '0')}  ./compose.yaml`, `@@sum ${e.padEnd(64, '0')}  ./.env`];

describe('observe parser + planner (pure)', () => {
  it('plans an update with the secret masked and the recreated service as impact', () => {
    const obs = parseObservation(['@@docker yes', '@@compose 1.29.2', '@@stack web', '@@current h1', '@@releases h1', ...sum('c1', 'e1'), manifest('h1'), ctr('s1')].join('\n'));
    expect(obs.composeVersion).toBe('1.29.2');
    const plan = planWorkloads(desired, obs, { labVersion: 't' });
    const c = plan.changes[0]!;
    expect([c.action, c.impact]).toEqual(['update', 'restart']);
    expect(c.diff).toContainEqual({ path: 'env', after: 'T', note: 'changed keys; values in the .env diff below' });
    expect(c.unifiedDiff).toContain('-T=***\n+T=***   # secret changed');
    expect(c.diff).toContainEqual({ path: 'services.web', before: 'running', after: 'recreated', impact: 'restart' });
    expect(plan.basis['l4:p/web']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is a noop when release, files and containers match; drift when stopped; delete for undeclared stacks', () => {
    const c2 = 'c2'.padEnd(64, '0');
    const e2 = 'e2'.padEnd(64, '0');
    const want = { ...desired, stacks: [{ ...stack, files: [{ ...stack.files[0]!, digest: c2 }, { ...stack.files[1]!, digest: e2 }] }] };
    const base = ['@@docker yes', '@@compose 1.29.2', '@@stack web', '@@current h2', ...sum('c2', 'e2'), manifest('h2')];
    expect(planWorkloads(want, parseObservation([...base, ctr('s2')].join('\n')), { labVersion: 't' }).changes[0]!.action).toBe('noop');
    const written = [...base, '@@sum ' + 'f'.repeat(64) + '  ./data/caddy/autosave.json', ctr('s2')];
    expect(planWorkloads(want, parseObservation(written.join('\n')), { labVersion: 't' }).changes[0]!.action, 'files the containers write are not drift').toBe('noop');
    const stopped = planWorkloads(want, parseObservation([...base, ctr('s2', 'exited')].join('\n')), { labVersion: 't' }).changes[0]!;
    expect([stopped.action, stopped.reason]).toEqual(['update', 'service web is exited']);
    const gone = planWorkloads({ ...want, stacks: [] }, parseObservation([...base, ctr('s2')].join('\n')), { labVersion: 't', destroyData: true }).changes[0]!;
    expect([gone.action, gone.impact]).toEqual(['delete', 'data-loss']);
  });
});

describe('health gate output', () => {
  it('prints a status line per round (live progress, a sign of life for the silence limit) and ends with its verdict', () => {
    const script = healthScript({ project: 'web', services: ['app'], containers: true, probes: [], timeoutS: 30 });
    expect(script).toContain('echo "@@status$st"');
    const out = '@@status app=running/starting\n@@status app=running/starting\n@@healthy app=running/healthy\n';
    expect(parseHealth(out)).toEqual({ healthy: true, status: ['app=running/healthy'] });
    expect(parseHealthStatus('@@status app=created/none\n@@status app=running/starting probe:web=fail\n')).toEqual(['app=running/starting', 'probe:web=fail']);
    expect(parseHealthStatus('some compose noise\n')).toBeUndefined();
  });
});
