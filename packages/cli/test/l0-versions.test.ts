import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lab, WORKSPACE } from './_harness.js';
import { createScratchLab } from '../src/scratch-lab.js';

// `proxmox.version` in lab.yaml picks the release the embedded simulator speaks (ADR 0171);
// `lab apply --layer l0` converges on both and `lab check --layer l0` then passes.

afterAll(() => {
  delete process.env.LAB_AGE_KEY_FILE;
});

describe.each(['8.4', '9.1'])('lab apply --layer l0 on the embedded lab speaking Proxmox VE %s', (version) => {
  it('applies, then checks clean, naming the release', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-l0-versions-'));
    const s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      edit: (doc) => {
        doc.setIn(['proxmox', 'guests'], 'none');
        doc.setIn(['proxmox', 'version'], version);
      },
    });
    process.env.LAB_AGE_KEY_FILE = s.identityFile;
    const apply = await lab('apply', '--layer', 'l0', '-y', '--root', s.root);
    expect(apply.code, apply.stderr).toBe(0);
    const check = await lab('check', '--layer', 'l0', '--root', s.root);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.stdout + check.stderr).toContain(`Proxmox VE ${version}.1 at `);
  }, 120_000);
});
