import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectSecretRefs, listPersonaNames, loadLab, loadPersona, loadSite } from '../src/index.js';

/** The example lab at the repository root is the first user of the schema. */
const REPO = resolve(import.meta.dirname, '../../..');
const GiB = 2 ** 30;

describe('the example lab', () => {
  it('lists its personas, skipping _mixins', async () => {
    expect(await listPersonaNames(REPO)).toEqual(['edge', 'identity', 'media', 'monitoring', 'tinker']);
  });

  it.each(['edge', 'identity', 'media', 'monitoring', 'tinker'])('persona %s loads without warnings', async (name) => {
    const p = await loadPersona(REPO, name);
    expect(p.name).toBe(name);
    expect(p.file).toBe(`personas/${name}/persona.yaml`);
    expect(p.files.at(-1)).toBe(p.file);
    expect(p.warnings).toEqual([]);
    expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const hostname: string = p.persona.os.hostname;
    expect(hostname).toBe(name);
  });

  it('loads as a whole, cross-checked against lab.yaml', async () => {
    const lab = await loadLab(REPO);
    expect(lab.root).toBe(REPO);
    expect(lab.personas.map((p) => p.name)).toEqual(['edge', 'identity', 'media', 'monitoring', 'tinker']);
    expect(lab.warnings).toEqual([]);
    const site = lab.site.site;
    expect(site.name).toBe('homelab');
    expect(site.proxmox).toEqual({ mode: 'embedded', nodes: 3, guests: 'docker', stateDir: '.lab/sim', connections: 16, taskSilenceTimeout: 600 });
    expect(site.nodes.map((n) => n.name)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(site.bridges[0]?.vlans.map((v) => v.id)).toEqual([10, 20, 30]);
    expect(site.ssh.jumpHost).toEqual({ host: '10.0.0.11', port: 22, user: 'root' });
    expect(site.images[0]?.versions[0]?.checksum.algorithm).toBe('sha512');
  });

  it('composes media from docker → base → node-exporter, and the log shipper', async () => {
    const { persona: p, files } = await loadPersona(REPO, 'media');
    expect(files).toEqual(['personas/_mixins/node-exporter.yaml', 'personas/_mixins/base.yaml', 'personas/_mixins/log-shipper.yaml', 'personas/_mixins/docker.yaml', 'personas/media/persona.yaml']);
    expect(p.vm.memory).toBe(8 * GiB);
    expect(p.vm.image).toEqual({ name: 'debian-12-docker', version: 'stable' });
    const library = p.vm.disks.find((d) => d.name === 'library');
    expect(library).toMatchObject({ size: 2 * 1024 * GiB, persistent: true, mount: '/srv/media', filesystem: 'xfs' });
    expect(p.os.users.find((u) => u.name === 'sam')?.groups).toEqual(['adm', 'systemd-journal', 'docker', 'media']);
    expect(p.os.packages.map((x) => x.name)).toEqual(expect.arrayContaining(['prometheus-node-exporter', 'htop', 'docker.io', 'docker-compose', 'mediainfo']));
    expect(p.os.firewall.policy.forward).toBe('accept');
    expect(p.workloads.stacks.map((s) => s.name)).toEqual(['logs', 'jellyfin', 'arr']);
    expect(p.workloads.stacks.filter((s) => s.name !== 'logs').map((s) => [s.name, s.compose])).toEqual([
      ['jellyfin', 'personas/media/compose/jellyfin.yaml'],
      ['arr', 'personas/media/compose/arr.yaml'],
    ]);
    expect(p.capture?.consistency).toEqual({ strategy: 'pause', stacks: ['jellyfin', 'arr'], timeout: 600 });
  });

  it('marks tinker experimental with a week to live, without node metrics', async () => {
    const { persona: p } = await loadPersona(REPO, 'tinker');
    expect(p.lifecycle).toEqual({ stage: 'experimental', ttl: 604_800 });
    // $remove of a package declares it absent: L3 purges it (and the collectors that need it).
    expect(p.os.packages.filter((x) => x.name.startsWith('prometheus-node-exporter')).map((x) => [x.name, x.state])).toEqual([['prometheus-node-exporter', 'absent'], ['prometheus-node-exporter-collectors', 'absent']]);
    expect(p.os.firewall.allow.map((r) => r.name)).toEqual(['ssh', 'code-server']);
  });

  it('references secrets only by name, each with its location', async () => {
    const lab = await loadLab(REPO);
    const refs = collectSecretRefs(lab);
    expect([...new Set(refs.map((r) => r.name))].sort()).toEqual([
      'common/sam-password-hash',
      'edge/adguard-admin-password-hash',
      'identity/smtp-password',
      'identity/vaultwarden-admin-token',
      'media/jellyfin-api-key',
      'media/prowlarr-api-key',
      'media/radarr-api-key',
      'media/sonarr-api-key',
      'monitoring/grafana-admin-password',
      'monitoring/ntfy-topic-url',
      'site/restic-local-password',
      'tinker/code-server-password',
    ]);
    for (const r of refs) {
      const line = readFileSync(join(REPO, r.source!.file), 'utf8').split('\n')[r.source!.line - 1] ?? '';
      expect(line.slice(r.source!.column - 1), `${r.source!.file}:${r.source!.line}`).toMatch(new RegExp(`^\\{ ?secret: ${r.name}`));
    }
    const media = collectSecretRefs(lab.personas.find((p) => p.name === 'media')!);
    expect(media).toContainEqual({
      name: 'media/jellyfin-api-key',
      path: 'workloads.stacks[0].env.JELLYFIN_API_KEY',
      source: { file: 'personas/media/persona.yaml', line: expect.any(Number), column: expect.any(Number) },
    });
    expect(collectSecretRefs(await loadSite(REPO))).toEqual([
      { name: 'site/restic-local-password', path: 'repositories[0].password', source: { file: 'lab.yaml', line: 117, column: 15 } },
    ]);
  });

  it('digests the same intent the same way', async () => {
    const [a, b] = await Promise.all([loadPersona(REPO, 'edge'), loadPersona(REPO, 'edge')]);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe((await loadPersona(REPO, 'media')).digest);
  });
});
