import { afterEach, describe, expect, it } from 'vitest';
import { loadLab } from '../src/index.js';
import { labError, lines, makeLab } from './_lab.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const body = (disk: string): string => `vm:
  image: debian-12@stable
  memory: 1GiB
  disks:
    - { name: root, size: 8G, storage: local-lvm }
    - { name: ${disk}, size: 2G, storage: local-lvm, persistent: true, mount: /srv/data }
  nics:
    - { bridge: vmbr0 }
`;

/** adr/0163: persona `coll` disk `a-b` and persona `coll-a` disk `b` meet in the old volume name. */
describe('data disks across the lab', () => {
  it('refuses two persistent disks whose volumes would share a name, at file:line:col with a fix', async () => {
    const l = makeLab({ 'personas/coll/persona.yaml': `name: coll\n${body('a-b')}`, 'personas/coll-a/persona.yaml': `name: coll-a\n${body('b')}` });
    cleanups.push(l.cleanup);
    const e = await labError(() => loadLab(l.root));
    const d = e.diagnostics.find((x) => x.code === 'LAB_INTENT_DATA_DISK_CLASH');
    expect(d, lines(e).join('\n')).toBeDefined();
    expect(d!.source).toMatchObject({ line: 7 });
    expect(d!.source!.file).toMatch(/personas\/coll(-a)?\/persona\.yaml$/);
    expect(d!.summary).toMatch(/"coll-a-b"/);
    expect(d!.hint).toMatch(/rename one of the two disks/);
  });

  it('accepts the same disk name in two personas, and a non-persistent pair', async () => {
    const l = makeLab({ 'personas/one/persona.yaml': `name: one\n${body('data')}`, 'personas/two/persona.yaml': `name: two\n${body('data')}` });
    cleanups.push(l.cleanup);
    const lab = await loadLab(l.root);
    expect(lab.personas.map((p) => p.name).sort()).toEqual(['one', 'two']);
  });
});
