import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryReporter, LabError, Secret } from '@lab/core';
import { openSecretStore, type SecretStore } from '@lab/secrets';
import { beginRun, parseJournalText, readJournal, recordRun, toEntry, type JournalEntry } from '@lab/engine';
import { lab, scratchLab } from './_harness.js';
import { change, daysAgo, intentCopy, planOf, record } from './_journal.js';
import type { ScratchLab } from '../src/scratch-lab.js';

const CANARY = 'canary-7f3e-do-not-journal-me';
const fixed = { provenance: { operator: 'test@lab', git: null } } as const;

function linesOf(root: string): JournalEntry[] {
  const dir = join(root, 'journal');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as JournalEntry);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lab-journal-unit-'));
}

describe('journal entries', () => {
  it('keep address, action, impact and field names of pending changes; never values; secrets masked everywhere', async () => {
    const secret = new Secret(CANARY);
    const plan = planOf([
      change('media/l4/stack[jellyfin]', 'update', 'restart', {
        before: { env: { API_KEY: CANARY } },
        after: { env: { API_KEY: secret } },
        diff: [{ path: 'env.JELLYFIN_API_KEY', before: CANARY, after: secret, sensitive: true }, { path: 'release', before: 'a', after: 'b' }],
        sensitivePaths: ['env.JELLYFIN_API_KEY'],
        unifiedDiff: `--- a\n+++ b\n-${CANARY}\n`,
        steps: [{ kind: 'shell', description: `echo ${CANARY}` }],
      }),
      change('media/l3/apt.package[htop]', 'noop', 'none', { reason: 'installed' }),
      change('media/l2/vm', 'create', 'none', { after: { cicustom: CANARY } }),
      change('media/l3/file[/etc/x]', 'update', 'reload', { reason: `content ${CANARY} differs` }),
    ]);
    const root = tmp();
    const entry = await recordRun(
      root,
      {
        command: 'apply',
        personas: ['media'],
        plan,
        result: 'failed',
        startedAt: new Date('2026-03-04T10:00:00Z'),
        durationMs: 1234.4,
        error: { code: 'LAB_L4_HEALTH', summary: `probe answered ${CANARY}` },
        details: { note: `token=${CANARY}`, drifted: 2 },
      },
      { ...fixed, secrets: [secret] },
    );
    const text = readFileSync(join(root, 'journal/2026-03.ndjson'), 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(text)).toEqual(entry);
    expect(entry.changes).toEqual([
      { address: 'media/l4/stack[jellyfin]', action: 'update', impact: 'restart', summary: 'env.JELLYFIN_API_KEY, release' },
      { address: 'media/l2/vm', action: 'create', impact: 'none' },
      { address: 'media/l3/file[/etc/x]', action: 'update', impact: 'reload', summary: 'content *** differs' },
    ]);
    expect(entry.error).toEqual({ code: 'LAB_L4_HEALTH', summary: 'probe answered ***' });
    expect(entry.details).toEqual({ drifted: 2, note: 'token=***' });
    expect(entry).toMatchObject({ v: 1, time: '2026-03-04T10:00:00.000Z', operator: 'test@lab', git: null, command: 'apply', personas: ['media'], layers: ['l4', 'l3', 'l2'], result: 'failed', durationMs: 1234 });
  });

  it('go to the month file of the run start in UTC, appended in order', async () => {
    const root = tmp();
    const run = (iso: string) => recordRun(root, { command: 'drift', personas: ['media'], result: 'ok', startedAt: new Date(iso), durationMs: 5 }, fixed);
    await run('2026-01-31T23:30:00-02:00'); // 2026-02-01T01:30Z
    await run('2026-02-28T23:59:59Z');
    await run('2026-03-01T00:00:00+01:00'); // still February in UTC
    expect(readdirSync(join(root, 'journal')).sort()).toEqual(['2026-02.ndjson']);
    expect(linesOf(root).map((e) => e.time)).toEqual(['2026-02-01T01:30:00.000Z', '2026-02-28T23:59:59.000Z', '2026-02-28T23:00:00.000Z']);
  });

  it('concurrent appends never interleave: every line is one whole run', async () => {
    const root = tmp();
    const n = 120;
    // ~40 kB per line: each write spans many pages, so a torn or interleaved write would show.
    const changes = (i: number) => Array.from({ length: 300 + i }, (_, j) => change(`p${i}/l3/file[/etc/lab/some/rather/long/path/number/${j}]`, 'update', 'reload', { diff: [{ path: 'content' }] }));
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        recordRun(root, { command: 'apply', personas: [`p${i}`], plan: planOf(changes(i)), result: 'ok', startedAt: new Date('2026-05-05T05:05:05Z'), durationMs: i, details: { i } }, fixed),
      ),
    );
    const lines = readFileSync(join(root, 'journal/2026-05.ndjson'), 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(n);
    const parsed = lines.map((l) => JSON.parse(l) as JournalEntry);
    expect(parsed.map((e) => e.details?.['i']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const e of parsed) expect(e.changes).toHaveLength(300 + Number(e.details?.['i']));
  });

  it('records operator and commit from Git: user.email, short HEAD, dirty when the lab differs (the journal aside)', async () => {
    const root = tmp();
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', HOME: root };
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, env, encoding: 'utf8' }).trim();
    git('init', '-q');
    git('config', 'user.email', 'sam@home.arpa');
    git('config', 'user.name', 'Sam');
    writeFileSync(join(root, 'lab.yaml'), 'name: x\n');
    git('add', '.');
    git('commit', '-qm', 'init');
    const head = git('rev-parse', '--short', 'HEAD');
    const run = { command: 'apply', personas: [], result: 'ok', startedAt: new Date(), durationMs: 1 } as const;
    const first = await recordRun(root, run, { env });
    expect(first.operator).toBe('sam@home.arpa');
    expect(first.git).toEqual({ commit: head, dirty: false });
    // The journal it just wrote is untracked, and must not make the next run dirty.
    expect((await recordRun(root, run, { env })).git).toEqual({ commit: head, dirty: false });
    writeFileSync(join(root, 'lab.yaml'), 'name: y\n');
    expect((await recordRun(root, run, { env })).git).toEqual({ commit: head, dirty: true });
  });

  it('outside Git: no commit, and the operator is $USER@hostname', async () => {
    const root = tmp();
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_CEILING_DIRECTORIES: tmpdir(), HOME: root, USER: 'alice' };
    const e = await recordRun(root, { command: 'apply', personas: [], result: 'ok', startedAt: new Date(), durationMs: 1 }, { env });
    expect(e.git).toBeNull();
    expect(e.operator).toBe(`alice@${hostname()}`);
    const { USER: _drop, ...noUser } = env;
    const f = await recordRun(root, { command: 'apply', personas: [], result: 'ok', startedAt: new Date(), durationMs: 1 }, { env: { ...noUser, LOGNAME: '' } });
    expect(f.operator).toBe(`${userInfo().username}@${hostname()}`);
  });
});

describe('beginRun (what commands use)', () => {
  it('masks every secret the run read or wrote through the session store, and skips declined runs', async () => {
    const root = tmp();
    const store = openSecretStore({ root, dir: 'secrets', recipients: [] });
    const fake: SecretStore = Object.freeze({ ...store, get: async () => new Secret(CANARY), set: async () => undefined });
    const session = { secrets: (): SecretStore => fake };
    const run = beginRun('apply', { root, reporter: createMemoryReporter(), personas: ['media'], layers: ['l4'], record: fixed });
    run.track(session);
    const written = 'written-secret-value-42';
    await session.secrets().set('media/new', written);
    expect((await session.secrets().get('media/x')).reveal()).toBe(CANARY);
    run.usePlan(planOf([change('media/l4/stack[jellyfin]', 'update', 'restart', { reason: `env differs: ${written}` })]));
    await run.failed(new Error(`compose said ${CANARY}`));
    const text = readFileSync(join(root, 'journal', readdirSync(join(root, 'journal'))[0]!), 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(written);
    const [e] = (await readJournal(root)).entries;
    expect(e).toMatchObject({ result: 'failed', error: { code: 'LAB_INTERNAL', summary: 'compose said ***' }, changes: [{ summary: 'env differs: ***' }] });

    const declined = beginRun('apply', { root, reporter: createMemoryReporter(), personas: [], record: fixed });
    expect(await declined.failed(new LabError({ code: 'LAB_CONFIRM_REQUIRED', summary: 'no' }))).toBeUndefined();
    expect((await readJournal(root)).entries).toHaveLength(1);
  });

  it('a journal that cannot be written is a warning, not a failure of the run', async () => {
    const root = join(tmp(), 'file');
    writeFileSync(root, 'not a directory');
    const reporter = createMemoryReporter();
    const run = beginRun('apply', { root, reporter, personas: [], record: fixed });
    expect(await run.ok()).toBeUndefined();
    expect(JSON.stringify(reporter.events)).toContain('the journal was not written');
  });
});

describe('reading the journal', () => {
  it('returns runs newest first across months, skips damaged lines with file:line, filters by since', async () => {
    const root = tmp();
    await record(root, { command: 'apply', personas: ['media'], result: 'ok', at: new Date('2026-01-10T00:00:00Z') });
    await record(root, { command: 'destroy', personas: ['tinker'], result: 'ok', at: new Date('2026-03-02T00:00:00Z') });
    await record(root, { command: 'drift', personas: ['media'], result: 'ok', at: new Date('2026-03-01T00:00:00Z') });
    writeFileSync(join(root, 'journal/2026-03.ndjson'), `${readFileSync(join(root, 'journal/2026-03.ndjson'), 'utf8')}<<<<<<< HEAD\n{"v":9}\n`);
    writeFileSync(join(root, 'journal/README.md'), 'not a month file\n');
    const all = await readJournal(root);
    expect(all.entries.map((e) => e.command)).toEqual(['destroy', 'drift', 'apply']);
    expect(all.skipped).toEqual(['journal/2026-03.ndjson:3: not JSON', 'journal/2026-03.ndjson:4: not a journal entry of format 1']);
    const recent = await readJournal(root, { since: new Date('2026-02-15T00:00:00Z') });
    expect(recent.entries.map((e) => e.command)).toEqual(['destroy', 'drift']);
    expect((await readJournal(join(root, 'nowhere'))).entries).toEqual([]);
  });

  it('parses text alone (pure), keeping line order', () => {
    const a = toEntry({ command: 'apply', personas: ['b', 'a', 'b'], result: 'ok', startedAt: new Date(0), durationMs: 0 }, { operator: 'o', git: null, labVersion: '1' });
    expect(a.personas).toEqual(['a', 'b']);
    const { entries, skipped } = parseJournalText(`${JSON.stringify(a)}\n\n${JSON.stringify({ ...a, command: 'destroy' })}\n`, 'j');
    expect(entries.map((e) => e.command)).toEqual(['apply', 'destroy']);
    expect(skipped).toEqual([]);
  });
});

describe('lab log', () => {
  let root: string;
  beforeAll(async () => {
    root = intentCopy();
    const now = new Date();
    await record(root, { command: 'apply', personas: ['media'], result: 'ok', at: daysAgo(20, now), plan: planOf([change('media/l2/vm', 'update', 'reboot', { diff: [{ path: 'memory' }] })]) });
    await record(root, { command: 'capture', personas: ['identity'], result: 'ok', at: daysAgo(3, now), details: { snapshot: 'a1b2c3d4' } });
    await record(root, { command: 'apply', personas: ['media', 'edge'], result: 'failed', at: daysAgo(1, now), error: { code: 'LAB_L4_HEALTH', summary: 'jellyfin did not become healthy' } });
  });

  it('lists runs newest first as a table', async () => {
    const r = await lab('log', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^TIME \(UTC\)\s+COMMAND\s+PERSONAS\s+LAYERS\s+RESULT\s+CHANGES\s+TOOK\s+COMMIT\s+BY$/);
    expect(rows.slice(1).map((l) => l.split(/\s{2,}/)[1])).toEqual(['apply', 'capture', 'apply']);
    expect(rows[1]).toContain('edge,media');
    expect(rows[1]).toContain('failed LAB_L4_HEALTH');
    expect(rows[3]).toMatch(/1 \(reboot\)/);
    expect(rows[3]).toContain('abc1234');
  });

  it('filters by persona, since and limit; -v shows changes and errors; --json gives the entries', async () => {
    const media = await lab('log', '--root', root, '--persona', 'media', '--json');
    expect((JSON.parse(media.stdout) as JournalEntry[]).map((e) => e.command)).toEqual(['apply', 'apply']);
    const week = await lab('log', '--root', root, '--since', '7d', '--json');
    expect((JSON.parse(week.stdout) as JournalEntry[]).map((e) => e.command)).toEqual(['apply', 'capture']);
    const one = await lab('log', '--root', root, '--limit', '1', '--json');
    expect(JSON.parse(one.stdout)).toHaveLength(1);
    const v = await lab('log', '--root', root, '-v');
    expect(v.stdout).toContain('    error: jellyfin did not become healthy');
    expect(v.stdout).toContain('    update  media/l2/vm (reboot): memory');
    const bad = await lab('log', '--root', root, '--since', 'lately');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since lately');
  });

  it('says so when the journal is empty', async () => {
    const r = await lab('log', '--root', intentCopy());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('The journal is empty');
  });
});

describe('apply and destroy record runs (embedded simulator, records-only guests)', () => {
  let s: ScratchLab;
  beforeAll(async () => {
    s = await scratchLab();
    const file = join(s.root, 'lab.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/guests: docker/, 'guests: none'));
  });

  it('a successful apply is journalled with its changes, and the token secret it stored never appears', async () => {
    const declined = await lab('apply', '--layer', 'l0', '--root', s.root);
    expect(declined.stderr).toContain('LAB_CONFIRM_REQUIRED');
    expect((await readJournal(s.root)).entries).toEqual([]);

    const r = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    const { entries } = await readJournal(s.root);
    expect(entries).toHaveLength(1);
    const e = entries[0]!;
    expect(e).toMatchObject({ command: 'apply', personas: [], layers: ['l0'], result: 'ok', labVersion: expect.any(String) });
    expect(e.changes).toContainEqual(expect.objectContaining({ address: '_site/l0/token[lab@pve!lab]', action: 'create' }));
    const store = openSecretStore({ root: s.root, dir: 'secrets', recipients: [s.recipient], identityFile: s.identityFile });
    const token = (await store.get('site/pve-token')).reveal();
    expect(token.length).toBeGreaterThan(8);
    expect(readFileSync(join(s.root, 'journal', readdirSync(join(s.root, 'journal'))[0]!), 'utf8')).not.toContain(token);

    // Nothing left to change: nothing happened, no line.
    expect((await lab('apply', '--layer', 'l0', '-y', '--root', s.root)).code).toBe(0);
    expect((await readJournal(s.root)).entries).toHaveLength(1);
  }, 120_000);

  it('a failed apply is journalled with its error code, and the error still reaches the operator', async () => {
    const planFile = join(s.root, 'l1.plan.json');
    expect((await lab('plan', '--layer', 'l1', '--root', s.root, '--out', planFile)).code).toBe(2);
    expect((await lab('apply', '--layer', 'l1', '-y', '--root', s.root)).code).toBe(0);
    const stale = await lab('apply', planFile, '--root', s.root);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('LAB_PLAN_STALE');
    const [latest, previous] = (await readJournal(s.root)).entries;
    expect(latest).toMatchObject({ command: 'apply', layers: ['l1'], result: 'failed', error: { code: 'LAB_PLAN_STALE' } });
    expect(previous).toMatchObject({ command: 'apply', layers: ['l1'], result: 'ok' });
  }, 120_000);
});
