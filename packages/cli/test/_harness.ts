import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/main.js';
import { createScratchLab, type ScratchLab } from '../src/scratch-lab.js';

export const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the CLI in-process, capturing stdout and stderr. */
export async function lab(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    out: (t) => void out.push(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void err.push(t.endsWith('\n') ? t : `${t}\n`),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** A copy of the example lab with a fresh identity and generated secrets, in a temp dir. */
export async function scratchLab(valueFor?: (name: string) => string): Promise<ScratchLab> {
  const base = mkdtempSync(join(tmpdir(), 'lab-cli-'));
  const scratch = await createScratchLab({ from: WORKSPACE, to: join(base, 'lab'), identityFile: join(base, 'age.key'), ...(valueFor ? { valueFor } : {}) });
  process.env.LAB_AGE_KEY_FILE = scratch.identityFile;
  return scratch;
}

/**
 * Give the example lab's baked image a tiny profile (nothing but L3's defaults), for tests that
 * need a VM on it quickly and converge the persona's full OS themselves (adr/0145).
 */
export function tinyBake(doc: import('yaml').Document): void {
  const images = doc.get('images') as { items: { get(k: string): unknown }[] };
  const i = images.items.findIndex((it) => it.get('name') === 'debian-12-docker');
  if (i >= 0) doc.setIn(['images', i, 'bake'], doc.createNode({ include: [], os: { packages: [] } }));
}

/** Remove the baked images of the example lab (for tests that replace its personas and mixins). */
export function dropBakes(doc: import('yaml').Document): void {
  const images = doc.get('images') as { items: { get(k: string): unknown }[] };
  images.items = images.items.filter((it) => it.get('from') === undefined);
}
