import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLab } from '@lab/intent';
import { diffDocs, generateDocs } from '@lab/engine';
import { interpolate, parsePortEntry } from '../../engine/src/docs-gen/_compose.js';
import { readJournal } from '@lab/engine';
import { lab, WORKSPACE } from './_harness.js';
import { change, intentCopy, planOf, record } from './_journal.js';

const STALE = 'stale generated docs: run `pnpm lab docs` and commit docs/generated/';

describe('docs/generated of the example lab', () => {
  it('is committed and current (regenerated in memory from intent and journal)', async () => {
    const [l, journal] = await Promise.all([loadLab(WORKSPACE), readJournal(WORKSPACE)]);
    const docs = await generateDocs(l, journal.entries);
    for (const d of docs) {
      expect(existsSync(join(WORKSPACE, d.path)), `${d.path} is missing: ${STALE}`).toBe(true);
      expect(readFileSync(join(WORKSPACE, d.path), 'utf8'), `${d.path}: ${STALE}`).toBe(d.content);
    }
    expect((await diffDocs(WORKSPACE, docs)).orphaned, STALE).toEqual([]);
  });
});

describe('generated docs', () => {
  it('cover every persona: node, VMID, IP, size, disks, image version, stacks, ports, URLs', async () => {
    const l = await loadLab(intentCopy());
    const docs = await generateDocs(l, []);
    expect(docs.map((d) => d.path)).toEqual([
      'docs/generated/inventory.md',
      'docs/generated/network.md',
      ...l.personas.map((p) => `docs/generated/personas/${p.name}.md`),
    ]);
    const inventory = docs[0]!.content;
    expect(inventory).toContain(`| [media](personas/media.md) | stable | pve1 | 120 | 10.0.20.10 | 4 | 8GiB | root 32GiB on local-lvm; library 2TiB on local-lvm (persistent, /srv/media, no backup); appdata 16GiB on local-lvm (persistent, /srv/appdata) | debian-12-docker@${l.site.site.images.find((i) => i.name === 'debian-12-docker')!.stable} (stable) | logs, jellyfin, arr | never | never |`);
    expect(inventory).toContain('| [tinker](personas/tinker.md) | experimental (ttl 1w) | auto | auto | 10.0.30.40 |');
    expect(inventory).toContain('| edge | proxy | caddy | 2019/tcp | 127.0.0.1 | 2019 |');
    expect(inventory).toContain('| identity | https://vault.home.arpa | env DOMAIN (vaultwarden) |');
    expect(inventory).toContain('| media | http://10.0.20.10:8096/ | probe web (jellyfin) |');
    // The admin API is published on loopback only: no URL for it.
    expect(inventory).not.toContain(':2019/');
    const network = docs[1]!.content;
    expect(network).toContain('```mermaid\nflowchart LR\n  subgraph br_vmbr0["vmbr0 (VLAN-aware)"]');
    expect(network).toContain('  net_vmbr0_20 --- p_media');
    expect(network).toContain('| vmbr0 | 10 | servers | 10.0.10.0/24 | 10.0.10.1 | edge, identity, monitoring |');
    expect(network).toContain('L1 image: debian-12');
    const media = docs.find((d) => d.path.endsWith('/media.md'))!.content;
    expect(media).toContain('| jellyfin | `jellyfin/jellyfin:10.10.7` | bridge |');
    expect(media).toContain('| restore drill | files, `monthly` |');
  });

  it('are deterministic, hold no time but the journal’s and no secret value', async () => {
    const root = intentCopy();
    const l = await loadLab(root);
    const a = await generateDocs(l, []);
    const b = await generateDocs(await loadLab(root), []);
    expect(b).toEqual(a);
    const all = a.map((d) => d.content).join('\n');
    expect(all).not.toMatch(/\b20\d\d-\d\d-\d\d/);
    // Secret references are names; no value is ever decrypted for the docs.
    expect(all).not.toMatch(/ADMIN_TOKEN|SMTP_PASSWORD/);
  });

  it('show last apply, VM creation, capture and verified restore from the journal', async () => {
    const root = intentCopy();
    await record(root, { command: 'apply', personas: ['media'], result: 'ok', at: new Date('2026-03-01T10:00:00Z'), plan: planOf([change('media/l2/vm', 'create')]) });
    await record(root, { command: 'capture', personas: ['media'], result: 'ok', at: new Date('2026-03-02T03:30:00Z') });
    await record(root, { command: 'verify', personas: ['media'], result: 'ok', at: new Date('2026-03-03T04:00:00Z'), details: { verified: true } });
    await record(root, { command: 'verify', personas: ['identity'], result: 'failed', at: new Date('2026-03-03T04:00:00Z') });
    await record(root, { command: 'apply', personas: ['identity'], result: 'failed', at: new Date('2026-03-04T12:00:00Z'), error: { code: 'LAB_X', summary: 'x' } });
    const docs = await generateDocs(await loadLab(root), (await readJournal(root)).entries);
    const inventory = docs[0]!.content;
    expect(inventory).toMatch(/\| \[media\]\(personas\/media\.md\) .*\| 2026-03-01 10:00 UTC @ abc1234 \| 2026-03-03 04:00 UTC @ abc1234 \|/);
    expect(inventory).toMatch(/\| \[identity\]\(personas\/identity\.md\) .*\| 2026-03-04 12:00 UTC \(failed\) @ abc1234 \| never \|/);
    const media = docs.find((d) => d.path.endsWith('/media.md'))!.content;
    expect(media).toContain('| VM created | 2026-03-01 10:00 UTC @ abc1234 |');
    expect(media).toContain('| last capture | 2026-03-02 03:30 UTC @ abc1234 |');
  });

  it('read compose ports in short and long syntax, with the stack env substituted', () => {
    expect(parsePortEntry('80:80')).toEqual({ hostIp: '0.0.0.0', port: '80', protocol: 'tcp', target: '80' });
    expect(parsePortEntry('127.0.0.1:2019:2019')).toEqual({ hostIp: '127.0.0.1', port: '2019', protocol: 'tcp', target: '2019' });
    expect(parsePortEntry('443:443/udp')).toEqual({ hostIp: '0.0.0.0', port: '443', protocol: 'udp', target: '443' });
    expect(parsePortEntry('[::1]:8080:80')).toEqual({ hostIp: '::1', port: '8080', protocol: 'tcp', target: '80' });
    expect(parsePortEntry('8000-8010:8000-8010')).toMatchObject({ port: '8000-8010' });
    expect(parsePortEntry('9000')).toBeUndefined();
    expect(parsePortEntry({ target: 80, published: 8081, host_ip: '10.0.0.5', protocol: 'tcp' })).toEqual({ hostIp: '10.0.0.5', port: '8081', protocol: 'tcp', target: '80' });
    expect(parsePortEntry({ target: 80 })).toBeUndefined();
    expect(interpolate('${PORT}:80 ${MISSING:-7} $TAG ${SECRET}', { PORT: '8080', TAG: 'v1' })).toBe('8080:80 7 v1 ${SECRET}');
  });
});

describe('lab docs', () => {
  it('--check names stale files and writes nothing; lab docs writes them; then --check passes', async () => {
    const root = intentCopy();
    const check = await lab('docs', '--check', '--root', root);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('stale: docs/generated/inventory.md');
    expect(check.stderr).toContain('stale: docs/generated/personas/tinker.md');
    expect(existsSync(join(root, 'docs'))).toBe(false);

    const write = await lab('docs', '--root', root);
    expect(write.code, write.stderr).toBe(0);
    expect(write.stderr).toContain('7 written, 0 removed, 0 unchanged');
    const inventory = join(root, 'docs/generated/inventory.md');
    const network = join(root, 'docs/generated/network.md');
    const untouched = statSync(network).mtimeMs;
    expect((await lab('docs', '--check', '--root', root)).code).toBe(0);

    // Only what changed is rewritten; a removed persona's page goes away.
    const file = join(root, 'personas/media/persona.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('memory: 8GiB', 'memory: 12GiB'));
    mkdirSync(join(root, 'docs/generated/personas'), { recursive: true });
    writeFileSync(join(root, 'docs/generated/personas/gone.md'), '# gone\n');
    const stale = await lab('docs', '--check', '--root', root, '--json');
    expect(stale.code).toBe(2);
    expect(JSON.parse(stale.stdout)).toMatchObject({ changed: ['docs/generated/inventory.md', 'docs/generated/personas/media.md'], orphaned: ['docs/generated/personas/gone.md'] });
    const again = await lab('docs', '--root', root);
    expect(again.stderr).toContain('2 written, 1 removed, 5 unchanged');
    expect(existsSync(join(root, 'docs/generated/personas/gone.md'))).toBe(false);
    expect(readFileSync(inventory, 'utf8')).toContain('| 12GiB |');
    expect(statSync(network).mtimeMs).toBe(untouched);
  });
});
