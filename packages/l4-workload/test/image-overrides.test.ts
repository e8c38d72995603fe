import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError, type Diagnostic } from '@lab/core';
import { loadPersona } from '@lab/intent';
import { tempLabRoot } from '@lab/testkit';
import { checkImageOverrides, parseObservation, planWorkloads, readImageOverrides, renderWorkloads, resolveImage, type ImageOverrides } from '@lab/l4-workload';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('resolveImage', () => {
  const map: ImageOverrides = {
    'prom/prometheus:v3.4.1': 'lab-local/prometheus:debian',
    'grafana/loki': 'lab-local/stand-in:loki',
    'nginx:1.27': 'mirror.home.arpa/nginx:1.27-patched',
    'docker.io/': 'mirror.home.arpa/hub/',
    'ghcr.io/home-assistant/': 'mirror.home.arpa/ha/',
    [`quay.io/app/x@${DIGEST}`]: 'mirror.home.arpa/x:pinned',
  };
  const cases: [string, string | undefined, string | undefined][] = [
    ['prom/prometheus:v3.4.1', 'lab-local/prometheus:debian', 'prom/prometheus:v3.4.1'],
    ['docker.io/prom/prometheus:v3.4.1', 'lab-local/prometheus:debian', 'prom/prometheus:v3.4.1'],
    // Another tag of an exactly-keyed repository falls through to the prefix rule.
    ['prom/prometheus:v2.53.0', 'mirror.home.arpa/hub/prom/prometheus:v2.53.0', 'docker.io/'],
    ['grafana/loki:3.5.1', 'lab-local/stand-in:loki', 'grafana/loki'],
    [`grafana/loki@${DIGEST}`, 'lab-local/stand-in:loki', 'grafana/loki'],
    ['nginx:1.27', 'mirror.home.arpa/nginx:1.27-patched', 'nginx:1.27'],
    ['docker.io/library/nginx:1.27', 'mirror.home.arpa/nginx:1.27-patched', 'nginx:1.27'],
    ['nginx', 'mirror.home.arpa/hub/library/nginx', 'docker.io/'],
    [`caddy:2.9@${DIGEST}`, `mirror.home.arpa/hub/library/caddy:2.9@${DIGEST}`, 'docker.io/'],
    ['ghcr.io/home-assistant/home-assistant:2025.6', 'mirror.home.arpa/ha/home-assistant:2025.6', 'ghcr.io/home-assistant/'],
    [`quay.io/app/x@${DIGEST}`, 'mirror.home.arpa/x:pinned', `quay.io/app/x@${DIGEST}`],
    ['quay.io/app/x:1', undefined, undefined],
    ['ghcr.io/other/thing:1', undefined, undefined],
    ['${REGISTRY}/app:1', undefined, undefined],
  ];
  it.each(cases)('%s → %s', (image, want, rule) => {
    const got = resolveImage(image, map);
    expect(got?.image).toBe(want);
    expect(got?.rule).toBe(rule);
  });

  it('picks the longest matching prefix', () => {
    expect(resolveImage('grafana/grafana:12.0.1', { 'docker.io/': 'a.example/hub/', 'grafana/': 'b.example/grafana/' })?.image).toBe('b.example/grafana/grafana:12.0.1');
  });
});

describe('checkImageOverrides', () => {
  it('accepts a well-formed map', () => {
    expect(checkImageOverrides({ 'prom/prometheus': 'lab-local/prometheus:debian', 'docker.io/': 'registry.home.arpa:5000/hub/' })).toEqual([]);
  });

  it('refuses malformed references, prefix/image mismatches and duplicate keys', () => {
    const d = checkImageOverrides({
      'Prom/Prometheus:v1': 'x:1',
      'grafana/': 'mirror.home.arpa/grafana',
      'nginx:1': 'mirror.home.arpa/',
      'docker.io/prom/prometheus': 'y:1',
      'prom/prometheus': 'z:1',
      'alpine:3': 'not a ref',
    });
    expect(d.map((x) => [x.code, x.path, x.summary.replace(/\(.*\)/, '(…)')])).toEqual([
      ['LAB_L4_IMAGE_OVERRIDES_INVALID', 'workloads.imageOverrides.Prom/Prometheus:v1', 'image override "Prom/Prometheus:v1": not an image reference (…)'],
      ['LAB_L4_IMAGE_OVERRIDES_INVALID', 'workloads.imageOverrides.grafana/', 'image override "grafana/": a prefix must map to a prefix, got "mirror.home.arpa/grafana"'],
      ['LAB_L4_IMAGE_OVERRIDES_INVALID', 'workloads.imageOverrides.nginx:1', 'image override "nginx:1": maps one image to the prefix "mirror.home.arpa/"'],
      ['LAB_L4_IMAGE_OVERRIDES_INVALID', 'workloads.imageOverrides.prom/prometheus', 'image override "prom/prometheus": names the same images as "docker.io/prom/prometheus"'],
      ['LAB_L4_IMAGE_OVERRIDES_INVALID', 'workloads.imageOverrides.alpine:3', 'image override "alpine:3": its value "not a ref" is not an image reference (…)'],
    ]);
  });
});

const PERSONA = `name: ov
vm:
  image: debian-12@stable
  memory: 1GiB
  disks: [{ name: root, size: 8G, storage: local-lvm }]
  nics: [{ bridge: vmbr0, ip: 10.77.0.10/24, gateway: 10.77.0.1 }]
workloads:
  composeCommand: docker-compose
  stacks:
    - name: mon
      compose: compose.yaml
`;
const COMPOSE = `services:
  prometheus:
    image: prom/prometheus:v3.4.1
  web:
    image: nginx:1.27
`;
const secrets = { get: () => Promise.reject(new Error('no secrets here')) };

describe('render and plan with image overrides', () => {
  it('rewrites image: in the released compose file, recreates the service, and shows the rewrite in the plan', async () => {
    const root = await tempLabRoot({ 'personas/ov/persona.yaml': PERSONA, 'personas/ov/compose.yaml': COMPOSE });
    const persona = await loadPersona(root, 'ov');
    const plain = await renderWorkloads({ persona, root, secrets });
    const over = await renderWorkloads({ persona, root, secrets, imageOverrides: { 'prom/prometheus': 'lab-local/prometheus:debian' } });
    const [a, b] = [plain.desired.stacks[0]!, over.desired.stacks[0]!];
    const composeOf = (s: typeof a) => String(s.files.find((f) => f.path === 'compose.yaml')!.content);
    expect(composeOf(a)).toContain('image: prom/prometheus:v3.4.1');
    expect(composeOf(b)).toContain('image: lab-local/prometheus:debian');
    expect(composeOf(b)).toContain('image: nginx:1.27');
    // The declared document (what diffs show) is untouched; the release and the one service move.
    expect(b.composeText).toBe(a.composeText);
    expect(b.hash).not.toBe(a.hash);
    expect(b.services.prometheus).not.toBe(a.services.prometheus);
    expect(b.services.web).toBe(a.services.web);
    expect(b.imageOverrides).toEqual([{ service: 'prometheus', declared: 'prom/prometheus:v3.4.1', image: 'lab-local/prometheus:debian', rule: 'prom/prometheus' }]);
    expect(plain.warnings.filter((d) => d.code === 'LAB_L4_IMAGE_OVERRIDE')).toEqual([]);
    const note: Diagnostic = {
      severity: 'info',
      code: 'LAB_L4_IMAGE_OVERRIDE',
      summary: 'stack mon: service prometheus runs lab-local/prometheus:debian in place of prom/prometheus:v3.4.1 (image override "prom/prometheus")',
      address: 'ov/l4/stack[mon]' as Diagnostic['address'] & string,
      path: 'services.prometheus.image',
    };
    expect(over.warnings).toEqual([note]);

    const empty = parseObservation('@@docker yes\n@@compose 1.29.2\n');
    const plan = planWorkloads(over.desired, empty, { labVersion: 'test', warnings: over.warnings });
    expect(plan.diagnostics).toEqual([note]);
    expect(plan.changes[0]!.diff.filter((d) => d.path === 'services.prometheus.image')).toEqual([
      { path: 'services.prometheus.image', before: 'prom/prometheus:v3.4.1', after: 'lab-local/prometheus:debian', note: 'image override "prom/prometheus"' },
    ]);
  });

  it('refuses a malformed map before rendering anything', async () => {
    const root = await tempLabRoot({ 'personas/ov/persona.yaml': PERSONA, 'personas/ov/compose.yaml': COMPOSE });
    const persona = await loadPersona(root, 'ov');
    const e = await renderWorkloads({ persona, root, secrets, imageOverrides: { 'docker.io/': 'mirror' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('LAB_L4_IMAGE_OVERRIDES_INVALID');
    expect((e as LabError).diagnostics?.[0]?.summary).toBe('image override "docker.io/": a prefix must map to a prefix, got "mirror"');
  });
});

describe('readImageOverrides', () => {
  it('reads a YAML map and points problems at file:line:col', async () => {
    const root = await tempLabRoot({
      'ok.yaml': '# the test lane\nprom/prometheus: lab-local/prometheus:debian\n',
      'bad.yaml': 'prom/prometheus: lab-local/prometheus:debian\ngrafana/: mirror.home.arpa/g\n',
      'list.yaml': '- a\n',
    });
    expect(await readImageOverrides(join(root, 'ok.yaml'))).toEqual({ 'prom/prometheus': 'lab-local/prometheus:debian' });
    const e = (await readImageOverrides(join(root, 'bad.yaml')).catch((x: unknown) => x)) as LabError;
    expect(e.code).toBe('LAB_L4_IMAGE_OVERRIDES_INVALID');
    expect(e.diagnostics?.map((d) => [d.source?.line, d.source?.column])).toEqual([[2, 1]]);
    expect(((await readImageOverrides(join(root, 'list.yaml')).catch((x: unknown) => x)) as LabError).diagnostics?.[0]?.summary).toBe('expected a map of image → image');
    expect(await readFile(join(root, 'ok.yaml'), 'utf8')).toContain('prom/prometheus');
  });
});
