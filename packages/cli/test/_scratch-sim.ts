import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';
import { WORKSPACE } from './_harness.js';
import { startSimProcess, type SimProcess } from './_sim-process.js';

export interface ScratchSim {
  readonly scratch: ScratchLab;
  readonly sim: SimProcess;
}

/**
 * A scratch copy of the example lab on records-only guests (`proxmox.guests: none`), with its
 * own age identity and SSH key, and `lab sim start` running for it in its own process: VMs
 * started by one command are still running for the next, as on a real cluster.
 */
export async function startScratchSim(prefix: string): Promise<ScratchSim> {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const scratch = await createScratchLab({
    from: WORKSPACE,
    to: join(base, 'lab'),
    identityFile: join(base, 'age.key'),
    sshKeyFile: join(base, 'id_ed25519'),
    edit: (doc) => doc.setIn(['proxmox', 'guests'], 'none'),
  });
  process.env.LAB_AGE_KEY_FILE = scratch.identityFile;
  return { scratch, sim: await startSimProcess(scratch.root) };
}
