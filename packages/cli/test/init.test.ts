import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lab, WORKSPACE } from './_harness.js';

// `lab init` on a temporary copy of the repository, as a user's fresh clone: the example's
// secrets are encrypted to the maintainers' key, lab.yaml wants ~/.ssh/id_ed25519.
let base: string;
let repo: string;
let config: string;
const saved = { xdg: process.env.XDG_CONFIG_HOME, key: process.env.LAB_AGE_KEY_FILE };

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'lab-init-'));
  repo = join(base, 'checkout');
  config = join(base, 'config');
  for (const d of ['lab.yaml', 'personas', 'secrets', 'artifacts']) cpSync(join(WORKSPACE, d), join(repo, d), { recursive: true });
  process.env.XDG_CONFIG_HOME = config;
  delete process.env.LAB_AGE_KEY_FILE;
});

afterEach(() => {
  for (const [k, v] of [['XDG_CONFIG_HOME', saved.xdg], ['LAB_AGE_KEY_FILE', saved.key]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const secretFiles = () => Object.fromEntries(readdirSync(join(repo, 'secrets'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name), 'utf8')]));
const get = async (name: string) => {
  const r = await lab('secret', 'get', name, '--root', repo);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
};

describe('lab init', () => {
  it('makes a fresh clone the user’s own: identity in XDG config, recipient in lab.yaml, secrets of the right shape, an SSH key', async () => {
    expect((await lab('secret', 'get', 'media/jellyfin-api-key', '--root', repo)).code).toBe(1);

    const r = await lab('init', '--root', repo);
    expect(r.code, r.stderr).toBe(0);
    const identity = join(config, 'lab/age.key');
    const key = join(config, 'lab/id_ed25519');
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^ssh-ed25519 \S+ lab\n$/);
    const recipient = /# public key: (age1\S+)/.exec(readFileSync(identity, 'utf8'))![1]!;

    const yaml = readFileSync(join(repo, 'lab.yaml'), 'utf8');
    expect(yaml.split('\n')[0]).toBe('# yaml-language-server: $schema=packages/intent/schemas/site.schema.json');
    expect(yaml).toContain(`recipients:\n    - ${recipient}\n`);
    expect(yaml).toContain(`identityFile: ${key}\n`);
    expect(r.stderr).toContain('secrets    12 generated');
    expect(r.stderr).toMatch(/the password behind common\/sam-password-hash \(shown once, stored nowhere\): \S+/);

    expect(await get('common/sam-password-hash')).toMatch(/^\$6\$/);
    expect(await get('edge/adguard-admin-password-hash')).toMatch(/^\$2[aby]\$10\$/);
    expect(await get('media/sonarr-api-key')).toMatch(/^[0-9a-f]{32}$/);
    expect(await get('monitoring/ntfy-topic-url')).toMatch(/^https:\/\/\S+\/lab-[0-9a-f]{24}$/);
    expect(await get('site/restic-local-password')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await lab('validate', '--root', repo)).code).toBe(0);
  }, 60_000);

  it('is idempotent: a second run changes nothing', async () => {
    expect((await lab('init', '--root', repo)).code).toBe(0);
    const yaml = readFileSync(join(repo, 'lab.yaml'), 'utf8');
    const files = secretFiles();
    const again = await lab('init', '--root', repo, '--json');
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as { identity: string; sshKey: string; labYamlChanged: boolean; secrets: { action: string }[] };
    expect(result).toMatchObject({ identity: 'kept', sshKey: 'kept', labYamlChanged: false });
    expect(result.secrets.every((s) => s.action === 'kept')).toBe(true);
    expect(readFileSync(join(repo, 'lab.yaml'), 'utf8')).toBe(yaml);
    expect(secretFiles()).toEqual(files);
    expect((await lab('init', '--root', repo)).stderr).toContain('nothing changed');
  }, 60_000);

  it('never replaces an existing identity or key without --force; with it, keeps the old ones aside', async () => {
    expect((await lab('init', '--root', repo)).code).toBe(0);
    const identity = join(config, 'lab/age.key');
    const before = readFileSync(identity, 'utf8');
    const token = await get('identity/vaultwarden-admin-token');
    // A second checkout with the same identity: kept, and the secrets there are made readable with it.
    expect((await lab('init', '--root', repo)).code).toBe(0);
    expect(readFileSync(identity, 'utf8')).toBe(before);

    const forced = await lab('init', '--root', repo, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(identity, 'utf8')).not.toBe(before);
    const aside = readdirSync(join(config, 'lab')).filter((f) => f.includes('.bak-'));
    expect(aside.some((f) => f.startsWith('age.key.bak-')) && aside.some((f) => f.startsWith('id_ed25519.bak-'))).toBe(true);
    expect(forced.stderr).toContain('moved aside');
    // The old secrets were encrypted to the old key only: they are made anew for the new one.
    expect(await get('identity/vaultwarden-admin-token')).not.toBe(token);
  }, 60_000);

  it('refuses an identity inside the repository', async () => {
    process.env.LAB_AGE_KEY_FILE = join(repo, 'age.key');
    const inside = await lab('init', '--root', repo);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain('LAB_INIT_IDENTITY_IN_REPO');
    expect(existsSync(join(repo, 'age.key'))).toBe(false);
  });
});
