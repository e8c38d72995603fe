import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { initLab } from '@lab/engine';

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
  /** Value for each referenced secret; default a random value of the shape its reader expects (adr/0181). */
  readonly valueFor?: (name: string) => string;
  /** Give the copy its own SSH key (ssh.identityFile) instead of the operator's. */
  readonly sshKeyFile?: string;
  /** Change the copy's lab.yaml further (e.g. `proxmox.guests: none` for tests). */
  readonly edit?: (doc: import('yaml').Document) => void;
}

/**
 * Make a working copy of a lab whose secrets this machine can decrypt: copy lab.yaml and
 * personas/, then do what `lab init` does to it (the engine's `initLab`): an age identity
 * outside the copy as its recipient, a generated value for every secret the intent references.
 * The example lab's own secrets are encrypted to its maintainers' keys, so a demo or a test
 * cannot read them.
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
  if (options.edit) {
    const labFile = join(root, 'lab.yaml');
    const doc = parseDocument(await readFile(labFile, 'utf8'));
    options.edit(doc);
    await writeFile(labFile, doc.toString());
  }
  // The same making-it-yours as `lab init`, with the identity and key beside the copy.
  const valueFor = options.valueFor;
  const r = await initLab({
    root,
    identityFile: resolve(options.identityFile ?? `${root}.age.key`),
    sshKeyFile: options.sshKeyFile ? resolve(options.sshKeyFile) : false,
    ...(valueFor ? { ask: ({ name }) => valueFor(name), checkShape: false } : {}),
  });
  return { root, identityFile: r.identityFile, recipient: r.recipient, secrets: r.secrets.map((x) => x.name) };
}
