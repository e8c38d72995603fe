import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchLab } from '../../../packages/cli/src/scratch-lab.js';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));
const NX = join(WORKSPACE, 'node_modules/.bin/nx');
const personas = ['edge', 'identity', 'media', 'monitoring', 'tinker'];
const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', NX_TUI: 'false' };

interface Target {
  readonly executor: string;
  readonly options: { readonly command: string };
  readonly cache?: boolean;
  readonly parallelism?: boolean;
}

function project(name: string): { targets: Record<string, Target> } {
  return JSON.parse(execFileSync(NX, ['show', 'project', name, '--json'], { cwd: WORKSPACE, encoding: 'utf8', env: nxEnv, timeout: 120_000 }));
}

describe('persona projects: up, down and drift targets', () => {
  it('every persona has them, calling the lab CLI for that persona, uncached and one at a time', () => {
    for (const name of personas) {
      const { targets } = project(name);
      expect(targets['up']?.options.command).toBe(`node packages/cli/bin/lab.mjs up --persona ${name} -y`);
      expect(targets['down']?.options.command).toBe(`node packages/cli/bin/lab.mjs down --persona ${name} -y`);
      expect(targets['drift']?.options.command).toBe(`node packages/cli/bin/lab.mjs drift --persona ${name}`);
      for (const t of ['up', 'down', 'drift']) {
        expect(targets[t]?.executor).toBe('nx:run-commands');
        expect(targets[t]?.cache).toBe(false);
      }
      // Nx applies nx.json targetDefaults over inferred targets (with parallelism defaulted to
      // true), so for up and drift, which have defaults there, nx.json decides; down has none.
      expect(targets['down']?.parallelism).toBe(false);
    }
  }, 180_000);
});

/**
 * The targets end to end: Nx runs the real CLI against a scratch copy of the example lab
 * (LAB_ROOT) on a simulator that keeps running in its own process between the targets, as a
 * Proxmox cluster would. Records-only guests: the targets' wiring is under test, not L3.
 */
describe('nx run <persona>:drift|up|down on a scratch lab', () => {
  let sim: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-nx-up-'));
    const s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none') });
    env = { ...nxEnv, LAB_ROOT: s.root, LAB_AGE_KEY_FILE: s.identityFile };
    const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'sim', 'start', '--timing', 'fast', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    sim = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`lab sim start exited ${code}`)));
    });
  }, 120_000);
  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      sim.kill('SIGTERM');
      await new Promise((r) => sim!.once('exit', r));
    }
  });

  const nxRun = (target: string) => spawnSync(NX, ['run', target, '--outputStyle=static'], { cwd: WORKSPACE, encoding: 'utf8', env, timeout: 120_000 });

  it('drift says tinker is not created yet (exit 0), up creates it, drift is clean, down removes it', () => {
    const before = nxRun('tinker:drift');
    expect(before.status, before.stdout + before.stderr).toBe(0);
    expect(before.stdout).toContain('tinker/l2/vm not created yet');

    const up = nxRun('tinker:up');
    expect(up.status, up.stdout + up.stderr).toBe(0);
    expect(up.stdout + up.stderr).toMatch(/L2\s+VMs\s+1 change applied/);

    const clean = nxRun('tinker:drift');
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/tinker\s+L2 clean/);

    const down = nxRun('tinker:down');
    expect(down.status, down.stdout + down.stderr).toBe(0);
    expect(down.stdout + down.stderr).toContain('destroy VM');
  }, 300_000);
});
