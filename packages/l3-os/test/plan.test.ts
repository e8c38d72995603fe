import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret, hasErrors, renderPlan, serializePlan } from '@lab/core';
import { listPersonaNames, loadPersona, type Persona } from '@lab/intent';
import { emptyIntent, planL3, planOperations, renderL3Plan, resolveOs, type L3Intent } from '@lab/l3-os';
import { resolveRepository } from '../src/resolve.js';
import { renderTemplate } from '../src/_template.js';
import { freshGuestFacts, textFile } from './_facts.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const secrets = { get: async (name: string) => new Secret(`plaintext-of-${name}`) };

/** The repository's personas, without apt repositories whose keys would be fetched from the internet. */
async function offlinePersona(name: string): Promise<Persona> {
  const { persona } = await loadPersona(ROOT, name);
  return { ...persona, os: { ...persona.os, apt: { ...persona.os.apt, repositories: [] } } };
}

describe('planning the repository personas against a fresh guest', async () => {
  const names = await listPersonaNames(ROOT);
  it('finds personas to plan', () => expect(names.length).toBeGreaterThan(0));

  for (const name of names) {
    describe(name, async () => {
      const intent = await resolveOs(await offlinePersona(name), { root: ROOT, secrets });
      const facts = freshGuestFacts(intent);
      const plan = planL3(intent, facts, { createdAt: new Date(0) });

      it('plans without errors, one address per change, addresses scoped to the persona', () => {
        expect(hasErrors(plan.diagnostics), JSON.stringify(plan.diagnostics)).toBe(false);
        const addresses = plan.changes.map((c) => c.address);
        expect(new Set(addresses).size).toBe(addresses.length);
        for (const a of addresses) expect(a.startsWith(`${name}/l3/`)).toBe(true);
      });

      it('installs every declared package and creates every declared user', () => {
        for (const p of intent.packages.filter((x) => x.state !== 'absent')) {
          const c = plan.changes.find((x) => x.address === `${name}/l3/apt.package[${p.name}]`);
          expect(c?.action, p.name).toMatch(/create|noop/);
        }
        for (const u of intent.users) expect(plan.changes.some((c) => c.address === `${name}/l3/user[${u.name}]`)).toBe(true);
      });

      it('is pure: the same inputs give the same plan', () => {
        expect(serializePlan(planL3(intent, facts, { createdAt: new Date(0) }))).toBe(serializePlan(plan));
      });

      it('never carries a secret value in the plan JSON or its rendering', () => {
        const text = serializePlan(plan) + renderL3Plan(plan);
        expect(text).not.toContain('plaintext-of-');
      });

      it('plans nothing against the state it predicts (predictions are consistent with operations)', () => {
        const { projected } = planOperations(intent, facts);
        const again = planOperations(intent, projected).planned.flatMap((p) => p.changes).filter((c) => c.action !== 'noop');
        expect(again.map((c) => c.address)).toEqual([]);
      });
    });
  }
});

describe('planner behaviour', () => {
  const base: L3Intent = emptyIntent('t');

  it('plans a line against the content an earlier file operation will write', () => {
    const intent: L3Intent = {
      ...base,
      files: [{ path: '/etc/app.conf', state: 'present', content: 'a=1\n', mode: '0644', owner: 'root', group: 'root' }],
      lines: [{ path: '/etc/app.conf', line: 'b=2', state: 'present', create: false }],
    };
    const plan = planL3(intent, freshGuestFacts(intent));
    const line = plan.changes.find((c) => c.address === 't/l3/line[/etc/app.conf:b=2]') as { unifiedDiff?: string; action: string };
    expect(line.action).toBe('update');
    expect(line.unifiedDiff).toContain(' a=1\n+b=2\n');
  });

  it('shows handlers that changes will notify, once, with their impact', () => {
    const intent: L3Intent = {
      ...base,
      lines: [
        { path: '/etc/ssh/sshd_config', line: 'PermitRootLogin no', match: '^#?PermitRootLogin\\s', state: 'present', create: false },
        { path: '/etc/ssh/sshd_config', line: 'MaxAuthTries 3', match: '^#?MaxAuthTries\\s', state: 'present', create: false },
      ],
    };
    const plan = planL3(intent, freshGuestFacts(intent));
    const handlers = plan.changes.filter((c) => c.kind === 'handler');
    expect(handlers.map((h) => [h.address, h.impact])).toEqual([['t/l3/handler[reload:ssh.service]', 'reload']]);
    expect(renderPlan(plan)).toMatch(/to destroy \(3 reload, 0 data-loss\)\.$/);
  });

  it('a declared restartOn replaces the implicit sshd reload', () => {
    const intent: L3Intent = {
      ...base,
      lines: [{ path: '/etc/ssh/sshd_config', line: 'PermitRootLogin no', match: '^#?PermitRootLogin\\s', state: 'present', create: false }],
      services: [{ name: 'ssh', enabled: true, state: 'running', masked: false, restartOn: ['/etc/ssh/sshd_config'] }],
    };
    const plan = planL3(intent, freshGuestFacts(intent));
    expect(plan.changes.filter((c) => c.kind === 'handler').map((c) => c.address)).toEqual(['t/l3/handler[restart:ssh.service]']);
  });

  it('refuses a file declared twice', () => {
    const f = { path: '/etc/x', state: 'present' as const, content: 'x\n', mode: '0644', owner: 'root', group: 'root' };
    const intent: L3Intent = { ...base, files: [f, { ...f, content: 'y\n' }] };
    const plan = planL3(intent, freshGuestFacts(intent));
    expect(plan.diagnostics.map((d) => d.code)).toContain('LAB_L3_DUPLICATE');
  });

  it('records the facts digest as the plan basis', () => {
    const intent: L3Intent = { ...base, packages: [{ name: 'htop', state: 'present' }] };
    const facts = freshGuestFacts(intent);
    const plan = planL3(intent, facts);
    expect(plan.basis).toEqual({ 't/l3/facts': facts.digest() });
    const moved = freshGuestFacts(intent, { 'deb.packages': {} });
    expect(planL3(intent, moved).basis['t/l3/facts']).not.toBe(plan.basis['t/l3/facts']);
  });

  it('check output carries unified diffs of files and masks secret files', () => {
    const intent: L3Intent = {
      ...base,
      files: [
        { path: '/etc/motd', state: 'present', content: 'hello\n', mode: '0644', owner: 'root', group: 'root' },
        { path: '/etc/app/token', state: 'present', content: new Secret('tok-123456\n'), mode: '0600', owner: 'root', group: 'root' },
      ],
    };
    const plan = planL3(intent, freshGuestFacts(intent, { 'path[/etc/motd]': textFile('bye\n') }));
    const text = renderL3Plan(plan);
    // Under its change, indented, as the CLI prints every plan.
    expect(text).toContain(['--- a/etc/motd', '+++ b/etc/motd', '@@ -1,1 +1,1 @@', '-bye', '+hello'].map((l) => `        ${l}`).join('\n'));
    expect(text).toContain('t/l3/file[/etc/app/token]');
    expect(text).not.toContain('tok-123456');
    expect(text).toContain('content: ***');
  });

  it('adds Debian docker.io and docker-compose for stacks, but not over an engine the persona installs', () => {
    const docker: L3Intent = { ...base, docker: { composeCommand: 'docker-compose' } };
    const names = (i: L3Intent) => planL3(i, freshGuestFacts(i)).changes.filter((c) => c.kind === 'apt.package').map((c) => c.address.replace('t/l3/apt.package', ''));
    expect(names(docker)).toEqual(['[docker.io]', '[docker-compose]']);
    expect(names({ ...docker, packages: [{ name: 'docker-ce', state: 'present' }, { name: 'docker-compose-plugin', state: 'present' }] })).toEqual(['[docker-ce]', '[docker-compose-plugin]']);
    expect(planL3(docker, freshGuestFacts(docker)).changes.some((c) => c.address === 't/l3/systemd.service[docker.service]')).toBe(true);
  });

});

describe('resolving inputs', () => {
  it('renders templates; a secret variable makes the whole file a Secret', () => {
    expect(renderTemplate('host={{ host }} port={{port}}\n', { host: 'nas', port: 2049 }, 'x')).toBe('host=nas port=2049\n');
    const s = renderTemplate('key={{ key }}\n', { key: new Secret('k-1') }, 'x');
    expect(s).toBeInstanceOf(Secret);
    expect((s as Secret<string>).reveal()).toBe('key=k-1\n');
    expect(() => renderTemplate('{{ nope }}', { a: 1 }, 'os.files[0] (/etc/x)')).toThrow(expect.objectContaining({ code: 'LAB_L3_TEMPLATE' }));
  });

  const repo = (fingerprint?: string) => ({
    name: 'debian-extra',
    uris: ['http://deb.debian.org/debian'],
    suites: ['bookworm-backports'],
    components: ['main'],
    signedBy: { file: 'keys/debian.gpg', ...(fingerprint ? { fingerprint } : {}) },
  });

  it('accepts a key file holding the pinned fingerprint, refuses one that does not', async (ctx) => {
    const key = await readFile('/usr/share/keyrings/debian-archive-bookworm-automatic.gpg').catch(() => undefined);
    if (!key) {
      if (process.env.CI === 'true') throw new Error('debian-archive-keyring is needed for this test');
      ctx.skip();
      return;
    }
    const { tempLabRoot } = await import('./_sim.js');
    const root = await tempLabRoot({ 'keys/debian.gpg': key });
    const ok = await resolveRepository(repo('B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8') as never, { root });
    expect(ok.key).toMatchObject({ armored: false });
    await expect(resolveRepository(repo('9DC858229FC7DD38854AE2D88D81803C0EBFCD88') as never, { root })).rejects.toMatchObject({ code: 'LAB_L3_KEY_FINGERPRINT' });
  });
});
