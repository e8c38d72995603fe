import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

export interface ProbeOptions {
  readonly name?: string;
  /** What the guest is for, in its description. */
  readonly purpose: string;
  /** Last octet of its address on the lab VLAN (10.0.30.x): unique per test file. */
  readonly octet: number;
  readonly node?: string;
  /** Extra `vm:` lines, indented by two spaces (`onboot: false`, `tags: [a]`). */
  readonly vmExtra?: readonly string[];
}

/** A one-core records-only persona on the plain image, for tests that need a VM and nothing else. */
export function probePersona(o: ProbeOptions): string {
  return [
    `name: ${o.name ?? 'probe'}`,
    `description: ${o.purpose}`,
    'vm:',
    ...(o.node ? [`  node: ${o.node}`] : []),
    '  image: debian-12@stable',
    '  cores: 1',
    '  memory: 512MiB',
    ...(o.vmExtra ?? []).map((l) => `  ${l}`),
    '  disks:',
    '    - { name: root, size: 4G, storage: local-lvm }',
    '  nics:',
    `    - { bridge: vmbr0, vlan: 30, ip: 10.0.30.${o.octet}/24, gateway: 10.0.30.1 }`,
    '',
  ].join('\n');
}

/**
 * Replace a scratch lab's example personas with these (name → persona.yaml text). The mixins
 * stay: lab.yaml's baked image includes them.
 */
export function replacePersonas(root: string, personas: Readonly<Record<string, string>>): void {
  for (const d of readdirSync(join(root, 'personas'))) if (d !== '_mixins') rmSync(join(root, 'personas', d), { recursive: true });
  for (const [name, text] of Object.entries(personas)) {
    mkdirSync(join(root, 'personas', name), { recursive: true });
    writeFileSync(join(root, 'personas', name, 'persona.yaml'), text);
  }
}
