import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { Secret } from '@lab/core';
import { collectSecretRefs, loadLab } from '@lab/intent';
import { generateIdentity, openSecretStore, writeIdentityFile } from '@lab/secrets';
import { generateKeyPair } from '@lab/ssh';

export interface ScratchLab {
  readonly root: string;
  readonly identityFile: string;
  readonly recipient: string;
  /** Names of the secrets that were generated. */
  readonly secrets: readonly string[];
}

export interface ScratchLabOptions {
  /** The lab to copy (a folder with lab.yaml and personas/). */
  readonly from: string;
  /** Where to put the copy; must not exist or be empty. */
  readonly to: string;
  /** Where to write the new age identity; default `<to>.age.key` beside the copy. */
  readonly identityFile?: string;
  /** Value for each referenced secret; default 24 random bytes, base64url. */
  readonly valueFor?: (name: string) => string;
  /** Give the copy its own SSH key (ssh.identityFile) instead of the operator's. */
  readonly sshKeyFile?: string;
  /** Change the copy's lab.yaml further (e.g. `proxmox.guests: none` for tests). */
  readonly edit?: (doc: import('yaml').Document) => void;
}

/**
 * Make a working copy of a lab whose secrets this machine can decrypt: copy lab.yaml and
 * personas/, create a fresh age identity outside the copy, make it the only recipient, and
 * store a generated value for every secret the intent references. The example lab's own
 * secrets are encrypted to its maintainers' keys, so a demo or a test cannot read them.
 */
export async function createScratchLab(options: ScratchLabOptions): Promise<ScratchLab> {
  const from = resolve(options.from);
  const root = resolve(options.to);
  await mkdir(root, { recursive: true });
  await cp(join(from, 'lab.yaml'), join(root, 'lab.yaml'));
  await cp(join(from, 'personas'), join(root, 'personas'), { recursive: true });
  for (const extra of ['artifacts']) {
    if (existsSync(join(from, extra))) await cp(join(from, extra), join(root, extra), { recursive: true });
  }

  const identityFile = resolve(options.identityFile ?? `${root}.age.key`);
  const { identity, recipient } = await generateIdentity();
  if (!existsSync(identityFile)) await writeIdentityFile(identityFile, identity);

  const labFile = join(root, 'lab.yaml');
  const doc = parseDocument(await readFile(labFile, 'utf8'));
  doc.setIn(['secrets', 'recipients'], [recipient]);
  if (options.sshKeyFile) {
    const keyFile = resolve(options.sshKeyFile);
    if (!existsSync(keyFile)) {
      const pair = generateKeyPair('lab-demo');
      await writeFile(keyFile, pair.privateKey.reveal(), { mode: 0o600 });
      await writeFile(`${keyFile}.pub`, `${pair.publicKey}\n`);
    }
    doc.setIn(['ssh', 'identityFile'], keyFile);
  }
  options.edit?.(doc);
  await writeFile(labFile, doc.toString());

  const lab = await loadLab(root);
  const store = openSecretStore({ root, dir: lab.site.site.secrets.dir, recipients: [recipient], identityFile });
  const names = [...new Set(collectSecretRefs(lab).map((r) => r.name))].sort();
  const valueFor = options.valueFor ?? (() => randomBytes(24).toString('base64url'));
  for (const name of names) await store.set(name, new Secret(valueFor(name)));
  return { root, identityFile, recipient, secrets: names };
}
