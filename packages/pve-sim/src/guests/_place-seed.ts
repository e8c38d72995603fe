import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestSpec } from './backend.js';
import { NICS_DIR, SEED_DIR, nicsFile, seedFiles } from './_container.js';
import type { DockerCli } from './_docker-cli.js';

/**
 * Copies the VM's NIC list (and `extra` files of /etc/lab-guest: the data disks) and NoCloud seed into its container (created or stopped: they take
 * effect at the next boot, as a regenerated cloud-init ISO does). `docker cp DIR/.` copies the
 * directory's content into the existing target directory of the guest image.
 */
export async function placeSeed(cli: DockerCli, container: string, spec: GuestSpec, extra: Readonly<Record<string, string>> = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-guest-seed-'));
  try {
    const nicsDir = join(dir, 'lab-guest');
    await mkdir(nicsDir, { mode: 0o755 });
    await writeFile(join(nicsDir, 'nics'), nicsFile(spec), { mode: 0o644 });
    for (const [file, text] of Object.entries(extra)) await writeFile(join(nicsDir, file), text, { mode: 0o644 });
    await cli.run(['cp', `${nicsDir}/.`, `${container}:${NICS_DIR}`]);
    if (spec.cloudInit) {
      const seedDir = join(dir, 'nocloud');
      // The seed can carry host private keys and password hashes: root-only files.
      await mkdir(seedDir, { mode: 0o700 });
      await chmod(seedDir, 0o700);
      for (const [file, text] of Object.entries(seedFiles(spec.cloudInit))) {
        await writeFile(join(seedDir, file), text, { mode: 0o600 });
      }
      await cli.run(['cp', `${seedDir}/.`, `${container}:${SEED_DIR}`]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
