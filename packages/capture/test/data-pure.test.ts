import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '@lab/core';
import { loadLab } from '@lab/intent';
import { compareRestored, compareTrees, countForget, dataCaptureIntent, forgetArgs, pauseScript, resumeScript, type SnapshotInfo, type TreeNode } from '@lab/capture';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const lab = await loadLab(ROOT);
const persona = (name: string) => lab.personas.find((p) => p.name === name)!;

describe('dataCaptureIntent (the example lab)', () => {
  it('media: local repository under the lab root, the listed stacks in stack order, pause budget in seconds', () => {
    const i = dataCaptureIntent(lab.site.site, lab.root, persona('media'));
    expect(i.repository).toEqual({ name: 'local', location: { type: 'local', path: join(ROOT, '.lab/restic') }, passwordSecret: 'site/restic-local-password' });
    expect(i.paths).toEqual(['/srv/appdata']);
    expect(i.exclude).toContain('**/cache');
    expect(i.consistency).toEqual({ strategy: 'pause', timeoutS: 600 });
    expect(i.workload).toEqual({ composeCommand: persona('media').persona.workloads.composeCommand, stacksDir: '/opt/lab/stacks', stacks: ['jellyfin', 'arr'] });
    expect(i.retention).toEqual({ keepLast: 3, daily: 7, weekly: 4, monthly: 6, yearly: 0 });
    expect(i.drillScope).toBe('files');
  });

  it('identity: hook commands, drill at stacks scope, every stack pausable for a restore', () => {
    const i = dataCaptureIntent(lab.site.site, lab.root, persona('identity'));
    expect(i.consistency.strategy).toBe('hook');
    expect(i.consistency.pre).toContain('sqlite3');
    expect(i.consistency.post).toBe('rm -f /srv/vaultwarden/backup/db.sqlite3');
    expect(i.consistency.timeoutS).toBe(120);
    expect(i.workload.stacks).toEqual(['logs', 'vaultwarden']);
    expect(i.drillScope).toBe('stacks');
  });

  it('a persona without capture, or naming an unknown repository, is an error with the fix', () => {
    const tinker = persona('tinker');
    expect(() => dataCaptureIntent(lab.site.site, lab.root, tinker)).toThrow(LabError);
    const media = persona('media');
    const renamed = { ...media, persona: { ...media.persona, capture: { ...media.persona.capture!, repository: 'nas' } } };
    try {
      dataCaptureIntent(lab.site.site, lab.root, renamed);
      expect.unreachable();
    } catch (error) {
      expect((error as LabError).code).toBe('LAB_CAPTURE_REPOSITORY_UNKNOWN');
      expect((error as LabError).hint).toContain('local');
    }
  });
});

describe('retention', () => {
  it('keeps everything when every rule is 0; otherwise groups by host and filters on the persona', () => {
    expect(forgetArgs('a', { keepLast: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 })).toBeUndefined();
    expect(forgetArgs('media', { keepLast: 3, daily: 7, weekly: 0, monthly: 6, yearly: 0 })).toEqual([
      'forget', '--json', '--tag', 'persona:media', '--host', 'media', '--group-by', 'host', '--keep-last', '3', '--keep-daily', '7', '--keep-monthly', '6',
    ]);
    expect(countForget([{ keep: [{ id: 'a' }, { id: 'b' }], remove: [{ id: 'c' }] }, { keep: null, remove: null }])).toEqual({ forgotten: 1, kept: 2 });
  });
});

const snap: SnapshotInfo = { id: 'f'.repeat(64), shortId: 'ffffffff', time: '2026-01-01T00:00:00Z', paths: ['/srv/a'], tags: [] };
const node = (path: string, type: TreeNode['type'], size = 0, mtime = 100): TreeNode => ({ path, type, size, mtime });

describe('in-place restore preview', () => {
  it('overwrites what differs in size or time, creates what is missing, leaves extra files', () => {
    const tree = [node('/srv', 'dir'), node('/srv/a', 'dir'), node('/srv/a/same', 'file', 5), node('/srv/a/grown', 'file', 5), node('/srv/a/touched', 'file', 5), node('/srv/a/gone', 'file', 1), node('/srv/a/link', 'symlink')];
    const live = new Map(
      [node('/srv/a', 'dir'), node('/srv/a/same', 'file', 5), node('/srv/a/grown', 'file', 9), node('/srv/a/touched', 'file', 5, 200), node('/srv/a/link', 'symlink', 4), node('/srv/a/new', 'file', 3)].map((n) => [n.path, n]),
    );
    expect(compareTrees(snap, tree, live)).toEqual({ snapshot: snap, overwrite: ['/srv/a/grown', '/srv/a/touched'], create: ['/srv/a/gone'], unchanged: 2, extra: ['/srv/a/new'] });
  });
});

describe('drill tree comparison', () => {
  it('accepts the same entries (parents of the captured paths may be absent) and names the differences', () => {
    const tree = [node('/srv', 'dir'), node('/srv/a', 'dir'), node('/srv/a/x', 'file', 5), node('/srv/a/y', 'file', 7)];
    const same = new Map([node('/srv/a', 'dir', 4096), node('/srv/a/x', 'file', 5), node('/srv/a/y', 'file', 7)].map((n) => [n.path, n]));
    expect(compareRestored(tree, same)).toEqual([]);
    const bad = new Map([node('/srv/a', 'dir'), node('/srv/a/x', 'file', 4), node('/srv/a/z', 'file', 1)].map((n) => [n.path, n]));
    expect(compareRestored(tree, bad)).toEqual([
      '1 entries of the snapshot were not restored: /srv/a/y',
      '1 restored entries differ from the snapshot: /srv/a/x (file 5 B → file 4 B)',
      '1 restored entries are not in the snapshot: /srv/a/z',
    ]);
  });
});

describe('pause scripts', () => {
  const w = { composeCommand: 'docker-compose', stacksDir: '/opt/lab/stacks', stacks: ['db', 'app'] };
  it('stops running stacks dependents first, with L4’s release layout, and starts them in order', () => {
    const stop = pauseScript(w);
    expect(stop.indexOf("'@@paused app'")).toBeLessThan(stop.indexOf("'@@paused db'"));
    expect(stop).toContain('docker-compose -p app --project-directory /opt/lab/stacks/app/current -f /opt/lab/stacks/app/current/compose.yaml');
    expect(stop).toContain('label=com.docker.compose.project=db');
    const start = resumeScript(w, ['db', 'app']);
    expect(start.indexOf('-p db')).toBeLessThan(start.indexOf('-p app'));
    expect(start).toMatch(/start >&2 \|\| \{ echo 'could not start stack app' >&2; failed=1; \}/);
  });
});

describe('snapshot times', () => {
  it('are UTC whatever zone restic printed them in (the guest’s, Europe/Paris here)', async () => {
    const { toSnapshotInfo } = await import('../src/data/snapshots.js');
    const s = toSnapshotInfo({ id: 'a'.repeat(64), time: '2026-03-29T03:30:00.123456789+02:00', paths: ['/srv'], tags: ['commit:abc'] });
    expect(s.time).toBe('2026-03-29T01:30:00.123Z');
    // What `lab capture snapshots` shows under "TIME … UTC".
    expect(`${s.time.slice(0, 19).replace('T', ' ')} UTC`).toBe('2026-03-29 01:30:00 UTC');
  });
});
