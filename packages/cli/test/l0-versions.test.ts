import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lab, probePersona, WORKSPACE } from './_harness.js';
import { createScratchLab } from '../src/scratch-lab.js';

// `proxmox.version` in lab.yaml picks the release the embedded simulator speaks (ADR 0171);
// `lab apply --layer l0` converges on both and `lab check --layer l0` then passes; `lab up` then
// builds a VM with the lab's own least-privilege token (L1 template, L2 clone, start, and the
// guest-agent ping that needs VM.Monitor on 8.4 and VM.GuestAgent.Audit on 9.1).

const PROBE = probePersona({ purpose: 'A records-only guest for the release test.', octet: 62, node: 'pve1' });

afterAll(() => {
  delete process.env.LAB_AGE_KEY_FILE;
});

describe.each(['8.4', '9.1'])('lab apply --layer l0 on the embedded lab speaking Proxmox VE %s', (version) => {
  it('applies, checks clean naming the release, then lab up builds a VM with the lab token', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lab-l0-versions-'));
    const s = await createScratchLab({
      from: WORKSPACE,
      to: join(base, 'lab'),
      identityFile: join(base, 'age.key'),
      sshKeyFile: join(base, 'id_ed25519'),
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

    mkdirSync(join(s.root, 'personas/probe'), { recursive: true });
    writeFileSync(join(s.root, 'personas/probe/persona.yaml'), PROBE);
    const up = await lab('up', '-y', '--persona', 'probe', '--root', s.root);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('wait for the guest agent of probe');
  }, 240_000);
});
