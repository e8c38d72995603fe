import { createHash, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '@lab/core';
import { generateKeyPair } from '@lab/ssh';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: named value imports work under tsx but not under plain node ESM.
const { utils } = ssh2;

/** The jump host's identity: generated once per state dir so clients can pin it. */
export interface HostKey {
  /** OpenSSH private key (PEM-like `-----BEGIN OPENSSH PRIVATE KEY-----`). */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, as in a `.pub` file. */
  readonly publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** The public key blob, what an SSH client's host-key callback receives. */
  readonly blob: Buffer;
}

const KEY_FILE = 'ssh_host_ed25519_key';

export async function loadOrCreateHostKey(stateDir: string): Promise<HostKey> {
  const dir = join(stateDir, 'jump-host');
  const file = join(dir, KEY_FILE);
  let privateKey: string;
  try {
    privateKey = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // @lab/ssh's generator discards the pairs ssh2 emits unparsable (about one in 256).
    const pair = generateKeyPair('lab pve-sim jump host');
    privateKey = pair.privateKey.reveal();
    // Written whole under a temporary name, then linked into place: a concurrent reader (another
    // simulator on this state dir, or a second start in this process) never sees a half-written key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, privateKey, { mode: 0o600 });
    try {
      await link(tmp, file);
    } catch (err) {
      // Another one won the race: use its key.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      privateKey = await readFile(file, 'utf8');
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await writeFile(`${file}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
  }
  await chmod(file, 0o600);
  return describeKey(privateKey, file);
}

export function describeKey(privateKey: string, source = 'host key'): HostKey {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new LabError({
      code: 'LAB_SIM_JUMP_HOST_KEY_INVALID',
      summary: `cannot read the jump host key ${source}`,
      hint: `remove ${source} to generate a new one (clients must then re-pin it)`,
      ...(parsed instanceof Error ? { cause: parsed } : {}),
    });
  }
  const blob = parsed.getPublicSSH();
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { privateKey, publicKey: `${parsed.type} ${blob.toString('base64')}`, fingerprint, blob };
}
