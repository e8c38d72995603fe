/**
 * Generated documentation of a lab (`lab docs`): `docs/generated/inventory.md`, `network.md` and
 * one page per persona, from intent and journal only — no Proxmox, no SSH — so it runs offline
 * in milliseconds and in CI. Output is deterministic: sorted, and no time but the journal's.
 * See adr/0111-generated-docs.md.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Lab } from '@lab/intent';
import type { JournalEntry } from '../journal/entry.js';
import { labFacts } from './facts.js';
import { renderInventory } from './inventory.js';
import { renderNetwork } from './network.js';
import { renderPersonaPage } from './persona-page.js';

export const DOCS_DIR = 'docs/generated';

export interface GeneratedDoc {
  /** Relative to the lab root, `/`-separated. */
  readonly path: string;
  readonly content: string;
}

export async function generateDocs(lab: Lab, entries: readonly JournalEntry[]): Promise<GeneratedDoc[]> {
  const facts = await labFacts(lab, entries);
  return [
    { path: `${DOCS_DIR}/inventory.md`, content: renderInventory(lab, facts) },
    { path: `${DOCS_DIR}/network.md`, content: renderNetwork(lab, facts) },
    ...facts.map((f) => ({ path: `${DOCS_DIR}/personas/${f.name}.md`, content: renderPersonaPage(f) })),
  ];
}

export interface DocsDiff {
  /** Generated files whose committed copy is missing or differs. */
  readonly changed: readonly string[];
  /** Markdown files under docs/generated that nothing generates any more (a removed persona). */
  readonly orphaned: readonly string[];
}

async function markdownUnder(root: string, dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(root, dir), { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((n) => n.endsWith('.md')).map((n) => `${dir}/${n.split('\\').join('/')}`);
}

export async function diffDocs(root: string, docs: readonly GeneratedDoc[]): Promise<DocsDiff> {
  const changed: string[] = [];
  for (const d of docs) {
    const current = await readFile(join(root, d.path), 'utf8').catch(() => undefined);
    if (current !== d.content) changed.push(d.path);
  }
  const wanted = new Set(docs.map((d) => d.path));
  const orphaned = (await markdownUnder(root, DOCS_DIR)).filter((p) => !wanted.has(p)).sort();
  return { changed, orphaned };
}

/** Write what changed (unchanged files keep their mtime) and remove orphaned pages. */
export async function writeDocs(root: string, docs: readonly GeneratedDoc[]): Promise<DocsDiff> {
  const diff = await diffDocs(root, docs);
  const byPath = new Map(docs.map((d) => [d.path, d.content]));
  for (const path of diff.changed) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), byPath.get(path) ?? '');
  }
  for (const path of diff.orphaned) await rm(join(root, path));
  return diff;
}
