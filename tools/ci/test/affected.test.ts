import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { createScratchLab } from '../../../packages/cli/src/scratch-lab.js';
import { cloneWorkspace, WORKSPACE, type Clone } from './_clone.js';

interface Listing {
  readonly affected: readonly { readonly name: string; readonly reasons: readonly { readonly kind: string; readonly text: string }[] }[];
  readonly narrowed: readonly { readonly name: string }[];
  readonly unaffected: readonly string[];
}

let repo: Clone;
let env: NodeJS.ProcessEnv;

function affected(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(join(repo.dir, 'tools/ci/affected'), args, { cwd: repo.dir, encoding: 'utf8', env, timeout: 180_000 });
  // Nx colours its output on some CI runners even without a TTY; assertions read the text.
  const plain = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, '');
  return { code: r.status ?? -1, stdout: plain(r.stdout), stderr: plain(r.stderr) };
}

function list(): Listing {
  const r = affected('--list', '--json', '--base', 'HEAD');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listing;
}

const names = (l: Listing): string[] => l.affected.map((p) => p.name);

/** Undo the work-tree change of a test: tracked files back to the base commit, new files gone. */
function reset(): void {
  repo.git('checkout', '-q', '--', '.');
  for (const f of repo.git('ls-files', '--others', '--exclude-standard').split('\n').filter(Boolean)) rmSync(join(repo.dir, f));
}

const PERSONAS = ['edge', 'identity', 'media', 'monitoring', 'tinker'];

/**
 * A CI job's view: a clone of the workspace made a scratch lab (its own age identity and SSH key,
 * guests: none), the simulated host prepared (L0 and L1 applied), committed as the base. Plus one
 * mixin only tinker includes, to show mixins are judged file by file.
 */
beforeAll(async () => {
  repo = cloneWorkspace();
  const identityFile = `${repo.dir}.age.key`;
  await createScratchLab({
    from: WORKSPACE,
    to: repo.dir,
    identityFile,
    sshKeyFile: `${repo.dir}.ssh`,
    edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none'),
  });
  writeFileSync(join(repo.dir, 'personas/_mixins/scratch-tools.yaml'), 'description: Tools only the scratch machine wants.\nos:\n  packages: [strace]\n');
  const tinker = parseDocument(readFileSync(join(repo.dir, 'personas/tinker/persona.yaml'), 'utf8'));
  tinker.setIn(['include'], [...(tinker.getIn(['include']) as { toJSON(): string[] }).toJSON(), '_mixins/scratch-tools.yaml']);
  writeFileSync(join(repo.dir, 'personas/tinker/persona.yaml'), tinker.toString());
  env = { ...process.env, LAB_AGE_KEY_FILE: identityFile };
  const host = spawnSync('node', ['packages/cli/bin/lab.mjs', 'apply', '--layer', 'l0,l1', '-y'], { cwd: repo.dir, encoding: 'utf8', env, timeout: 120_000 });
  expect(host.status, host.stderr).toBe(0);
  repo.commit('base');
}, 240_000);

afterAll(() => {
  if (!repo) return;
  for (const p of [repo.dir, `${repo.dir}.age.key`, `${repo.dir}.ssh`, `${repo.dir}.ssh.pub`]) rmSync(p, { recursive: true, force: true });
});

describe('tools/ci/affected --list (a dry listing on a temporary clone)', () => {
  it('a change to one persona lists only that persona, and says why', () => {
    repo.touch('personas/media/persona.yaml');
    const l = list();
    expect(names(l)).toEqual(['media']);
    expect(l.affected[0]!.reasons.map((r) => r.text)).toEqual(['its files changed: personas/media/persona.yaml']);
    expect(l.unaffected).toEqual(PERSONAS.filter((p) => p !== 'media'));
    reset();
  }, 60_000);

  it('a change to a mixin lists the personas that include it, and only them', () => {
    repo.touch('personas/_mixins/scratch-tools.yaml');
    const one = list();
    expect(names(one)).toEqual(['tinker']);
    expect(one.affected[0]!.reasons.map((r) => r.text)).toEqual(['includes personas/_mixins/scratch-tools.yaml, which changed']);
    // Nx alone would check all five: it has one project for every mixin.
    expect(one.narrowed.map((n) => n.name)).toEqual(PERSONAS.filter((p) => p !== 'tinker'));
    reset();

    // base.yaml comes in through docker.yaml: every persona includes it.
    repo.touch('personas/_mixins/base.yaml');
    const all = list();
    expect(names(all)).toEqual(PERSONAS);
    for (const p of all.affected) expect(p.reasons.map((r) => r.kind)).toEqual(['mixin']);
    reset();
  }, 60_000);

  it('a change to a layer package lists every persona', () => {
    repo.touch('packages/l2-vm/src/plan.ts');
    const l = list();
    expect(names(l)).toEqual(PERSONAS);
    for (const p of l.affected) expect(p.reasons.map((r) => r.text)).toContain('uses l2-vm: packages/l2-vm/src/plan.ts changed');
    reset();
  }, 60_000);

  it('a changed secret lists the personas that reference it (Nx does not see secrets)', () => {
    repo.touch('secrets/media/jellyfin-api-key.age');
    const l = list();
    expect(names(l)).toEqual(['media']);
    expect(l.affected[0]!.reasons.map((r) => r.text)).toEqual(['references secret media/jellyfin-api-key, which changed']);
    reset();
  }, 60_000);

  it('nothing affected: says so and runs nothing', () => {
    const r = affected('--base', 'HEAD');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 of 5 personas affected');
  }, 60_000);
});

describe('tools/ci/affected (runs the checks)', () => {
  it('checks only the changed persona through Nx and reports lab’s verdict (exit 2: changes pending)', () => {
    repo.touch('personas/tinker/persona.yaml');
    // L0–L2 need no guest: quick on the embedded simulator.
    const r = affected('--base', 'HEAD', '--', '--layer=l0,l1,l2');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('1 of 5 personas affected');
    expect(r.stderr).toContain('nx run tinker:check');
    expect(r.stderr).not.toMatch(/nx run (edge|identity|media|monitoring):check/);
    expect(r.stdout).toMatch(/^tinker\s+changes\s+Plan: 1 to create/m);
    const plan = JSON.parse(readFileSync(join(repo.dir, '.lab/ci/tinker.plan.json'), 'utf8')) as { mode: string; changes: { address: string; action: string }[] };
    expect(plan.mode).toBe('check');
    expect(plan.changes.find((c) => c.address === 'tinker/l2/vm')?.action).toBe('create');
    for (const p of PERSONAS.filter((x) => x !== 'tinker')) expect(existsSync(join(repo.dir, `.lab/ci/${p}.plan.json`))).toBe(false);
    reset();
  }, 180_000);
});
