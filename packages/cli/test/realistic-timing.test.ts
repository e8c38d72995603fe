import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { lab, probePersona, replacePersonas, WORKSPACE } from './_harness.js';
import { createScratchLab } from '../src/scratch-lab.js';

// `lab sim start` runs with a real node's timing by default (issue #17): tasks take seconds, the
// agent answers seconds after a start, and cluster/resources lags ~10 s behind as pvestatd does.
// lab must be right under it: right after `lab up`, `lab check` finds nothing to do (L2 reads a
// VM's power state from the node, not from the lagging cluster/resources).

const PROBE = probePersona({ purpose: 'A records-only guest for the realistic-timing test.', octet: 64, node: 'pve1' });

afterAll(() => {
  delete process.env.LAB_AGE_KEY_FILE;
});

it('lab up against `lab sim start` in realistic timing, then lab check right away: no changes', async () => {
  const base = mkdtempSync(join(tmpdir(), 'lab-realistic-'));
  const s = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none') });
  process.env.LAB_AGE_KEY_FILE = s.identityFile;
  replacePersonas(s.root, { probe: PROBE });
  const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'sim', 'start', '--root', s.root, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const info = await new Promise<{ timing: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as { timing: string });
      });
      child.once('exit', (code) => reject(new Error(`lab sim start exited ${code}`)));
    });
    expect(info.timing).toBe('realistic');
    const up = await lab('up', '-y', '--root', s.root);
    expect(up.code, up.stderr).toBe(0);
    const check = await lab('check', '--layer', 'l2', '--all', '--root', s.root);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr + check.stdout).toContain('No changes.');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(base, { recursive: true, force: true });
  }
}, 600_000);
