import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));
let repo: string;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function affected(): string[] {
  const out = execFileSync(join(repo, 'node_modules/.bin/nx'), ['show', 'projects', '--affected', '--base=HEAD', '--json'], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', NX_TUI: 'false' },
    timeout: 120_000,
  });
  return (JSON.parse(out) as string[]).sort();
}

function touch(file: string): void {
  appendFileSync(join(repo, file), '\n# touched by the affected test\n');
}

const personas = ['edge', 'identity', 'media', 'monitoring', 'tinker'];

/**
 * A temporary git copy of the workspace (tracked and new files, not ignored ones), sharing the
 * workspace's node_modules: what CI's affected-only run sees after a commit.
 */
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'lab-affected-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: WORKSPACE, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(repo, f)), { recursive: true });
    try {
      cpSync(join(WORKSPACE, f), join(repo, f));
    } catch {
      // listed but deleted in the work tree
    }
  }
  symlinkSync(join(WORKSPACE, 'node_modules'), join(repo, 'node_modules'));
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=t@lab', '-c', 'user.name=t', 'add', '-A');
  git('-c', 'user.email=t@lab', '-c', 'user.name=t', 'commit', '-qm', 'base');
}, 120_000);

describe('Nx affected-only', () => {
  it('a change to one persona affects that persona and nothing else', () => {
    touch('personas/media/persona.yaml');
    expect(affected()).toEqual(['media']);
    git('checkout', '--', '.');
  }, 120_000);

  it('a change to a mixin affects the mixins project and every persona that includes it', () => {
    touch('personas/_mixins/docker.yaml');
    const including = personas.filter((p) => {
      const doc = parse(readFileSync(join(repo, 'personas', p, 'persona.yaml'), 'utf8')) as { include?: string[] };
      return (doc.include ?? []).length > 0;
    });
    expect(including.length).toBeGreaterThan(0);
    expect(affected()).toEqual(['persona-mixins', ...including].sort());
    git('checkout', '--', '.');
  }, 120_000);

  it('a change to a shared package affects every persona that depends on it', () => {
    touch('packages/intent/src/units.ts');
    const got = affected();
    for (const p of personas) expect(got).toContain(p);
    expect(got).toContain('intent');
    expect(got).toContain('cli');
    expect(got).not.toContain('pve-sim');
    git('checkout', '--', '.');
  }, 120_000);
});
