import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLab, type Lab, type LoadedPersona } from '@lab/intent';
import { expiryOf, readJournal, reapVerdict, type JournalEntry } from '@lab/engine';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';
import { lab, WORKSPACE } from './_harness.js';
import { change, daysAgo, intentCopy, planOf, record } from './_journal.js';

const now = new Date('2026-06-15T12:00:00Z');
const created = (persona: string, days: number, action: 'create' | 'replace' | 'delete' = 'create', result: 'ok' | 'failed' = 'ok', command: JournalEntry['command'] = 'apply'): JournalEntry => ({
  v: 1,
  time: daysAgo(days, now).toISOString(),
  operator: 't',
  git: null,
  labVersion: '0',
  command,
  personas: [persona],
  layers: ['l2'],
  changes: action === 'delete' && command === 'reap' ? [] : [{ address: `${persona}/l2/vm`, action, impact: 'none' }],
  result,
  durationMs: 1,
});

describe('expiry of experimental personas (pure)', () => {
  let l: Lab;
  let tinker: LoadedPersona;
  let media: LoadedPersona;
  beforeAll(async () => {
    l = await loadLab(WORKSPACE);
    tinker = l.personas.find((p) => p.name === 'tinker')!;
    media = l.personas.find((p) => p.name === 'media')!;
  });

  it('age counts from the newest creation of the VM; the ttl decides', () => {
    const old = expiryOf(tinker, [created('tinker', 8)], now);
    expect(old).toMatchObject({ stage: 'experimental', ttlSeconds: 7 * 86_400, ageSeconds: 8 * 86_400, expired: true });
    expect(reapVerdict(old, now)).toEqual({ reap: true, reason: 'expired: age 1w1d > ttl 1w' });
    // Re-created two days ago: the clock restarted.
    const recreated = expiryOf(tinker, [created('tinker', 2, 'replace'), created('tinker', 30)], now);
    expect(recreated.expired).toBe(false);
    expect(reapVerdict(recreated, now)).toEqual({ reap: false, reason: 'expires in 5d' });
  });

  it('keeps what it cannot date, what is gone, what is protected, and every stable persona', () => {
    expect(reapVerdict(expiryOf(tinker, [], now), now)).toEqual({ reap: false, reason: 'age unknown: no VM creation in the journal' });
    expect(reapVerdict(expiryOf(tinker, [created('tinker', 1, 'delete'), created('tinker', 9)], now), now).reason).toBe('its VM was destroyed');
    // A reap that found nothing left at L2 also means gone; a failed delete does not.
    expect(reapVerdict(expiryOf(tinker, [created('tinker', 1, 'delete', 'ok', 'reap'), created('tinker', 9)], now), now).reason).toBe('its VM was destroyed');
    expect(reapVerdict(expiryOf(tinker, [created('tinker', 1, 'delete', 'failed'), created('tinker', 9)], now), now).reap).toBe(true);
    const protectedTinker = { ...tinker, persona: { ...tinker.persona, vm: { ...tinker.persona.vm, protection: true } } };
    expect(reapVerdict(expiryOf(protectedTinker, [created('tinker', 9)], now), now)).toEqual({ reap: false, reason: 'expired, but vm.protection is set' });
    expect(reapVerdict(expiryOf(media, [created('media', 400)], now), now)).toEqual({ reap: false, reason: 'stable' });
  });
});

describe('lab personas and lab reap --dry-run (journal only)', () => {
  it('lab personas shows age and expiry of experimental personas', async () => {
    const root = intentCopy();
    const unknown = await lab('personas', '--root', root);
    expect(unknown.stdout).toMatch(/tinker\s+experimental \(ttl 1w, age unknown: no VM creation in the journal\)/);
    await record(root, { command: 'apply', personas: ['tinker'], result: 'ok', at: daysAgo(2), plan: planOf([change('tinker/l2/vm', 'create')]) });
    const r = await lab('personas', '--root', root);
    expect(r.stdout).toMatch(/tinker\s+experimental \(ttl 1w, age 2d, expires in 5d\)/);
    expect(r.stdout).toMatch(/media\s+stable\s+pve1/);
    const json = JSON.parse((await lab('personas', '--root', root, '--json')).stdout) as { name: string; expired?: boolean; createdAt?: string }[];
    expect(json.find((p) => p.name === 'tinker')).toMatchObject({ expired: false, createdAt: expect.stringMatching(/Z$/) });
    expect(json.find((p) => p.name === 'media')).not.toHaveProperty('expired');
  });

  it('--dry-run names expired experimental personas (exit 2) and never a stable or protected one', async () => {
    const root = intentCopy();
    await record(root, { command: 'apply', personas: ['tinker', 'media'], result: 'ok', at: daysAgo(10), plan: planOf([change('tinker/l2/vm', 'create'), change('media/l2/vm', 'create')]) });
    const r = await lab('reap', '--dry-run', '--root', root);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/tinker\s+1w\s+reap: expired: age 1w3d > ttl 1w/);
    expect(r.stderr).toContain('Would destroy: tinker');
    expect(r.stderr).not.toContain('media');
    const json = JSON.parse((await lab('reap', '--dry-run', '--json', '--root', root)).stdout);
    expect(json).toEqual([{ persona: 'tinker', reap: true, reason: expect.stringContaining('expired'), createdAt: expect.any(String), expiresAt: expect.any(String) }]);

    const file = join(root, 'personas/tinker/persona.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  onboot: false', '  onboot: false\n  protection: true'));
    const kept = await lab('reap', '--dry-run', '--root', root);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).toContain('keep: expired, but vm.protection is set');
    expect(kept.stderr).toContain('Nothing to reap.');
  });
});

describe('lab reap on the embedded simulator (records-only guests)', () => {
  let s: ScratchLab;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-reap-'));
    s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none'),
    });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    for (const layer of ['l0', 'l1', 'l2']) {
      const r = await lab('apply', '--layer', layer, '--persona', 'tinker', '-y', '--root', s.root);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 180_000);

  it('tears an expired tinker down (capture it asks for, then the VM; no L3, no L4 deploy) and journals a reap run', async () => {
    const { entries } = await readJournal(s.root);
    const first = entries.find((e) => e.changes.some((c) => c.address === 'tinker/l2/vm' && c.action === 'create'));
    expect(first).toMatchObject({ command: 'apply', personas: ['tinker'], layers: ['l2'], result: 'ok' });
    expect((await lab('reap', '--dry-run', '--root', s.root)).code).toBe(0);

    // Eight days pass: the run that created the VM now lies in the past.
    const dir = join(s.root, 'journal');
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
    const old = daysAgo(8).toISOString();
    const lines = readFileSync(join(dir, file!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalEntry);
    writeFileSync(join(dir, file!), lines.map((e) => JSON.stringify(e.time === first!.time ? { ...e, time: old } : e)).join('\n') + '\n');
    expect((await lab('personas', '--root', s.root)).stdout).toMatch(/tinker\s+experimental \(ttl 1w, age 1w1d, EXPIRED 1d ago\)/);

    // tinker asks for a VM backup before it goes.
    const persona = join(s.root, 'personas/tinker/persona.yaml');
    writeFileSync(persona, `${readFileSync(persona, 'utf8')}\ncapture:\n  enabled: false\n  repository: local\n  paths: []\n  vm: { enabled: true, storage: local }\n`);

    // A teardown, not a convergence: stacks down (here they go with the VM: no guest to reach),
    // the capture the persona asks for, then the VM; never L3, never an L4 deploy, never L0/L1.
    const r = await lab('reap', '-y', '--root', s.root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Reaped: tinker');
    expect(r.stderr).toContain('L3 skipped: nothing to undo');
    expect(r.stderr).not.toMatch(/^L[01] /m);
    expect(r.stderr).toMatch(/tinker: VM captured as local:backup\/vzdump-qemu-\d+-/);
    const [latest] = (await readJournal(s.root)).entries;
    expect(latest).toMatchObject({ command: 'reap', personas: ['tinker'], result: 'ok', details: { reaped: 1 } });
    expect(latest!.changes.map((c) => `${c.address} ${c.action}`)).toEqual(['tinker/capture/vm.backup create', 'tinker/l2/vm delete']);
    expect((await lab('capture', 'backups', '--persona', 'tinker', '--root', s.root)).stdout).toMatch(/vzdump-qemu-\d+-\S+\s.*persona=tinker/);

    // The VM is gone: L2 would create it again, and nothing is left to reap.
    expect((await lab('check', '--layer', 'l2', '--persona', 'tinker', '--root', s.root)).code).toBe(2);
    const again = await lab('reap', '--dry-run', '--root', s.root);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('keep: its VM was destroyed');
  }, 120_000);
});
