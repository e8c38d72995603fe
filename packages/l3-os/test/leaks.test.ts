import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLabError, renderPlan, Secret, serializePlan } from '@lab/core';
import type { Persona } from '@lab/intent';
import { planL3, renderL3Plan, resolveOs } from '@lab/l3-os';
import { freshGuestFacts, textFile } from './_facts.js';

/**
 * Issue #14, "Leaks": a `source:` that is a symlink out of the repository is never read (the
 * age identity once showed in `lab check`'s diff); a source holding a private key is a secret
 * (masked, no digest, 0600); a file holding a secret is 0600 unless a looser mode is explicitly
 * allowed; and no plan carries a digest of secret content (adr/0166).
 */

const CANARY = 'AGE-SECRET-KEY-1QQCANARYCANARYCANARYCANARYCANARYCANARYCANARYCANARYCANARYQQ';
const root = mkdtempSync(join(tmpdir(), 'lab-l3-leaks-'));
const outside = mkdtempSync(join(tmpdir(), 'lab-l3-leaks-out-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});
mkdirSync(join(root, 'personas/p/files'), { recursive: true });
writeFileSync(join(outside, 'age.key'), `# created: 2026-01-01\n${CANARY}\n`);
symlinkSync(join(outside, 'age.key'), join(root, 'personas/p/files/link.conf'));
writeFileSync(join(root, 'personas/p/files/id_ed25519'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${CANARY}\n-----END OPENSSH PRIVATE KEY-----\n`);
writeFileSync(join(root, 'personas/p/files/motd'), 'welcome\n');

type File = Persona['os']['files'][number];
function persona(files: Partial<File>[]): Persona {
  const full = files.map((f) => ({ state: 'present', owner: 'root', group: 'root', template: false, variables: {}, allowWorldReadableSecret: false, ...f })) as File[];
  return {
    name: 'p',
    os: { files: full, packages: [], users: [], groups: [], directories: [], lines: [], blocks: [], sysctl: {}, modules: [], systemd: { units: [], services: [] }, firewall: { enabled: false, policy: { input: 'drop', forward: 'drop', output: 'accept' }, allowPing: true, allow: [] }, mounts: [], hosts: [], apt: { repositories: [] }, timezone: 'Etc/UTC', locale: 'en_US.UTF-8' },
    workloads: { stacks: [], composeCommand: 'docker compose' },
  } as unknown as Persona;
}
const secrets = { get: async (name: string) => new Secret(`plaintext-of-${name}`) };

describe('L3 file sources and secret files', () => {
  it('refuses a source that is a symlink out of the repository, without reading or printing it', async () => {
    const e = await resolveOs(persona([{ path: '/etc/x.conf', source: 'personas/p/files/link.conf' }]), { root, secrets }).catch((x: unknown) => x);
    expect(isLabError(e) && e.code).toBe('LAB_L3_SOURCE_REFUSED');
    expect(JSON.stringify(e) + String((e as Error).message)).not.toContain('CANARY');
    expect((e as Error).message).toContain('leads outside the lab repository');
  });

  it('treats a source holding a private key as a secret: 0600, masked diff, no digest, no unified diff', async () => {
    const intent = await resolveOs(persona([{ path: '/etc/ssh/id', source: 'personas/p/files/id_ed25519' }, { path: '/etc/motd', source: 'personas/p/files/motd' }]), { root, secrets });
    const key = intent.files.find((f) => f.path === '/etc/ssh/id')!;
    expect(key.content).toBeInstanceOf(Secret);
    expect(key.mode).toBe('0600');
    expect(intent.files.find((f) => f.path === '/etc/motd')!.mode).toBe('0644');
    // The guest already holds an older key, world-readable: the update shows it, masked.
    const facts = freshGuestFacts(intent, { 'path.digest[/etc/ssh/id]': { ...textFile('old-key\n'), content: undefined } });
    const plan = planL3(intent, facts, { createdAt: new Date(0) });
    const change = plan.changes.find((c) => c.address === 'p/l3/file[/etc/ssh/id]')!;
    expect(change.action).toBe('update');
    const text = serializePlan(plan) + renderL3Plan(plan) + renderPlan(plan);
    expect(text).not.toContain('CANARY');
    expect(JSON.stringify(change)).not.toMatch(/sha256:[0-9a-f]/);
    expect(change.unifiedDiff).toBeUndefined();
  });

  it('writes a file whose content or template variables hold a secret 0600 by default', async () => {
    const intent = await resolveOs(
      persona([
        { path: '/etc/app/token', content: { secret: 'p/token' } as never },
        { path: '/etc/app/conf', content: 'password={{ pw }}\n', template: true, variables: { pw: { secret: 'p/pw' } } as never },
        { path: '/etc/app/shared', content: { secret: 'p/token' } as never, mode: '0640' },
      ]),
      { root, secrets },
    );
    expect(intent.files.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/app/token', '0600'],
      ['/etc/app/conf', '0600'],
      ['/etc/app/shared', '0640'],
    ]);
  });

  it('refuses a world-readable mode for a file holding a private key unless allowWorldReadableSecret', async () => {
    const e = await resolveOs(persona([{ path: '/etc/ssh/id', source: 'personas/p/files/id_ed25519', mode: '0644' }]), { root, secrets }).catch((x: unknown) => x);
    expect(isLabError(e) && e.code).toBe('LAB_L3_SECRET_MODE');
    const ok = await resolveOs(persona([{ path: '/etc/ssh/id', source: 'personas/p/files/id_ed25519', mode: '0644', allowWorldReadableSecret: true }]), { root, secrets });
    expect(ok.files[0]?.mode).toBe('0644');
  });
});
