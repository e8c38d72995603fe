import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLabFacts, type LabFacts } from '../src/lab-files.js';
import type { ProjectGraph } from '../src/nx.js';
import { describeReason, ownerOf, selectPersonas, type Reason } from '../src/reasons.js';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

/** A small lab: personas a (docker mixin), b (base mixin), c (no mixin, no VM). */
const project = (root: string, tags: string[], deps: string[]) => ({ root, tags, deps });
const projects = {
  a: project('personas/a', ['type:persona'], ['cli', 'l2-vm', 'persona-mixins']),
  b: project('personas/b', ['type:persona'], ['cli', 'l2-vm', 'l3-os', 'persona-mixins']),
  c: project('personas/c', ['type:persona'], ['cli', 'intent']),
  cli: project('packages/cli', ['type:app'], ['l2-vm', 'l3-os', 'intent', 'core']),
  'l2-vm': project('packages/l2-vm', ['type:layer'], ['core', 'intent']),
  'l3-os': project('packages/l3-os', ['type:layer'], ['core']),
  intent: project('packages/intent', ['type:shared'], ['core']),
  core: project('packages/core', ['type:shared'], []),
  'persona-mixins': project('personas/_mixins', ['type:mixin'], []),
};
const graph: ProjectGraph = {
  roots: new Map(Object.entries(projects).map(([n, p]) => [n, p.root])),
  tags: new Map(Object.entries(projects).map(([n, p]) => [n, p.tags])),
  deps: new Map(Object.entries(projects).map(([n, p]) => [n, p.deps])),
};
const facts: LabFacts = {
  personas: [
    { name: 'a', root: 'personas/a', mixins: ['personas/_mixins/base.yaml', 'personas/_mixins/docker.yaml'], secrets: ['a/key', 'common/pw'], image: 'debian-12' },
    { name: 'b', root: 'personas/b', mixins: ['personas/_mixins/base.yaml'], secrets: ['common/pw'], image: 'ubuntu-24' },
    { name: 'c', root: 'personas/c', mixins: [], secrets: [], image: undefined },
  ],
  siteSecrets: ['site/restic'],
  secretsDir: 'secrets',
};

function select(files: string[], nxPersonas: string[]) {
  const s = selectPersonas({ graph, facts, files, nxPersonas });
  return {
    affected: Object.fromEntries(s.affected.map((p) => [p.name, p.reasons.map((r) => r.kind)])),
    narrowed: s.narrowed.map((n) => n.name),
    unaffected: s.unaffected,
    reasons: (name: string): readonly Reason[] => s.affected.find((p) => p.name === name)?.reasons ?? [],
  };
}

describe('selectPersonas (pure)', () => {
  it('a persona file affects that persona only', () => {
    const s = select(['personas/a/compose/app.yaml'], ['a']);
    expect(s.affected).toEqual({ a: ['persona'] });
    expect(s.unaffected).toEqual(['b', 'c']);
  });

  it('a mixin affects the personas that include it, through other mixins too, and narrows what Nx counts', () => {
    const docker = select(['personas/_mixins/docker.yaml'], ['a', 'b']);
    expect(docker.affected).toEqual({ a: ['mixin'] });
    expect(docker.narrowed).toEqual(['b']);
    expect(docker.unaffected).toEqual(['c']);
    const base = select(['personas/_mixins/base.yaml'], ['a', 'b']);
    expect(Object.keys(base.affected)).toEqual(['a', 'b']);
    // Not a mixin: every persona that includes any mixin is concerned.
    expect(Object.keys(select(['personas/_mixins/project.json'], ['a', 'b']).affected)).toEqual(['a', 'b']);
  });

  it('a package affects every persona that reaches it, with the shortest path', () => {
    const s = select(['packages/l3-os/src/apply.ts'], ['a', 'b', 'c']);
    expect(Object.keys(s.affected)).toEqual(['a', 'b', 'c']);
    expect(s.reasons('a')).toEqual([{ kind: 'project', project: 'l3-os', via: ['cli', 'l3-os'], files: ['packages/l3-os/src/apply.ts'] }]);
    expect(s.reasons('b')).toEqual([{ kind: 'project', project: 'l3-os', via: ['l3-os'], files: ['packages/l3-os/src/apply.ts'] }]);
    expect(describeReason(s.reasons('a')[0]!)).toBe('uses cli → l3-os: packages/l3-os/src/apply.ts changed');
  });

  it('secrets and image manifests, which Nx does not see, add the personas that use them', () => {
    expect(select(['secrets/a/key.age'], []).affected).toEqual({ a: ['secret'] });
    expect(select(['secrets/common/pw.age'], []).affected).toEqual({ a: ['secret'], b: ['secret'] });
    expect(select(['secrets/site/restic.age'], []).affected).toEqual({ a: ['secret'], b: ['secret'], c: ['secret'] });
    expect(select(['secrets/nobody/x.age'], []).affected).toEqual({});
    expect(select(['artifacts/images/debian-12/channels.json'], []).affected).toEqual({ a: ['image'] });
  });

  it('the site and workspace-wide files affect every persona', () => {
    expect(select(['lab.yaml'], ['a', 'b', 'c']).affected).toEqual({ a: ['site'], b: ['site'], c: ['site'] });
    const s = select(['nx.json', 'docs/ci.md'], ['a', 'b', 'c']);
    expect(s.affected).toEqual({ a: ['workspace'], b: ['workspace'], c: ['workspace'] });
    expect(describeReason(s.reasons('c')[0]!)).toBe('workspace-wide files changed: nx.json, docs/ci.md');
    expect(select(['docs/ci.md'], []).affected).toEqual({});
  });

  it('owns a file by the longest project root', () => {
    const roots = new Map([['personas-all', 'personas'], ['mixins', 'personas/_mixins'], ['root', '.']]);
    expect(ownerOf('personas/_mixins/base.yaml', roots)).toBe('mixins');
    expect(ownerOf('personas/a/persona.yaml', roots)).toBe('personas-all');
    expect(ownerOf('lab.yaml', roots)).toBeUndefined();
  });
});

describe('readLabFacts (the example lab)', () => {
  it('follows includes through mixins and collects secret references and images', () => {
    const lab = readLabFacts(WORKSPACE);
    const identity = lab.personas.find((p) => p.name === 'identity')!;
    expect(identity.mixins).toEqual(['personas/_mixins/base.yaml', 'personas/_mixins/docker.yaml', 'personas/_mixins/log-shipper.yaml', 'personas/_mixins/node-exporter.yaml']);
    expect(identity.secrets).toEqual(expect.arrayContaining(['identity/vaultwarden-admin-token', 'common/sam-password-hash']));
    expect(identity.image).toBe('debian-12-docker');
    expect(lab.personas.map((p) => p.name)).not.toContain('_mixins');
    expect(lab.siteSecrets).toContain('site/restic-local-password');
    expect(lab.secretsDir).toBe('secrets');
  });
});
