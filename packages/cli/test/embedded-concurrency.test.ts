import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lab, probePersona, replacePersonas, WORKSPACE } from './_harness.js';
import { createScratchLab } from '../src/scratch-lab.js';

// Issue #14: with the default lab.yaml (`proxmox.mode: embedded`) every CLI process used to start
// its own in-process simulator on the same `.lab/sim`, so concurrent commands lost updates (last
// writer wins on state.json) and handed out one VMID twice. Now the state dir has one owner at a
// time and other commands attach to it (ADR 0170). These tests run real CLI processes at once on
// one embedded lab with records-only guests and check that every change survived.

const CLI = join(WORKSPACE, 'packages/cli/bin/lab.mjs');
/** Creates that race for the next free VMID (no `vmid:` declared), plus one update. */
const CREATES = ['probe2', 'probe3', 'probe4'];

function persona(name: string, octet: number, tags: readonly string[]): string {
  return probePersona({ name, purpose: 'A records-only guest for the concurrency test.', octet, vmExtra: [`tags: [${tags.join(', ')}]`] });
}

interface Run {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

/** One real `lab` process; bounded by silence-free time (it is killed after `ms`). */
function labProcess(root: string, identity: string, args: readonly string[], ms = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--root', root], { env: { ...process.env, LAB_AGE_KEY_FILE: identity, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ args, code, stdout, stderr });
    });
  });
}

interface StateVm {
  readonly vmid: number;
  readonly conf: Record<string, string>;
}

function vmsByName(stateDir: string): Map<string, StateVm> {
  const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { vms: Record<string, StateVm> };
  return new Map(Object.values(state.vms).map((vm) => [vm.conf['name'] ?? '', vm]));
}

describe('two or more commands at once on one embedded lab (records-only guests)', () => {
  let root: string;
  let identity: string;
  let stateDir: string;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-embedded-conc-'));
    const s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
      edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none'),
    });
    replacePersonas(s.root, Object.fromEntries(['probe1', ...CREATES].map((name, i) => [name, persona(name, 71 + i, ['probe'])])));
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    root = s.root;
    identity = s.identityFile;
    stateDir = join(root, '.lab/sim');
    // The setup runs alone: L0 (user, token, ACLs), L1 (the template) and probe1's VM.
    const up = await lab('up', '-y', '--persona', 'probe1', '--root', root);
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);
  afterAll(() => {
    delete process.env.LAB_AGE_KEY_FILE;
  });

  it('an update and three creates at once: the update survives, every VM exists, VMIDs are unique', async () => {
    const before = vmsByName(stateDir).get('probe1')!;
    writeFileSync(join(root, 'personas/probe1/persona.yaml'), persona('probe1', 71, ['probe', 'updated']));
    const runs = await Promise.all([
      labProcess(root, identity, ['apply', '--layer', 'l2', '--persona', 'probe1', '-y']),
      ...CREATES.map((p) => labProcess(root, identity, ['apply', '--layer', 'l2', '--persona', p, '-y'])),
    ]);
    for (const r of runs) expect(r.code, `${r.args.join(' ')}\n${r.stderr}`).toBe(0);

    const vms = vmsByName(stateDir);
    expect(vms.get('probe1')?.vmid).toBe(before.vmid);
    expect(vms.get('probe1')?.conf['tags']?.split(';')).toContain('updated');
    const ids = ['probe1', ...CREATES].map((p) => vms.get(p)?.vmid);
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);

    // Nobody still owns or leases the lab, and a fresh check agrees that nothing is left to do.
    expect(existsSync(join(stateDir, 'owner.lock'))).toBe(false);
    expect(existsSync(join(stateDir, 'endpoint.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'clients')) ? readdirSync(join(stateDir, 'clients')) : []).toEqual([]);
    const check = await lab('check', '--layer', 'l2', '--all', '--root', root);
    expect(check.code, check.stderr + check.stdout).toBe(0);
  }, 600_000);

  it('a killed owner (kill -9) loses nothing: the next command takes its lock over and sees every VM', async () => {
    const owner = spawn(process.execPath, [CLI, 'sim', 'start', '--timing', 'fast', '--json', '--root', root], { env: { ...process.env, LAB_AGE_KEY_FILE: identity }, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      owner.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve();
      });
      owner.once('exit', (code) => reject(new Error(`lab sim start exited ${code}`)));
    });
    const lock = JSON.parse(readFileSync(join(stateDir, 'owner.lock'), 'utf8')) as { pid: number; purpose: string };
    expect(lock.pid).toBe(owner.pid);
    expect(lock.purpose).toBe('lab sim start');
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));

    const r = await labProcess(root, identity, ['check', '--layer', 'l2', '--all']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`took the embedded lab over from lab sim start (pid ${owner.pid}`);
    const vms = vmsByName(stateDir);
    expect(['probe1', ...CREATES].every((p) => vms.has(p))).toBe(true);
    expect(vms.get('probe1')?.conf['tags']?.split(';')).toContain('updated');
  }, 300_000);
});
