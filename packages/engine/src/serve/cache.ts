import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readLabView, type LabView } from './load.js';

/** Files named by a persona (compose files, file sources): lab-root-relative values of these keys. */
const FILE_KEYS = new Set(['compose', 'source']);

function referenced(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) referenced(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (FILE_KEYS.has(k) && typeof v === 'string') out.add(v);
      else referenced(v, out);
    }
  }
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
}

async function fingerprint(root: string, extra: readonly string[]): Promise<string> {
  const files = [join(root, 'lab.yaml'), ...extra.map((f) => join(root, f))];
  await walk(join(root, 'personas'), files);
  await walk(join(root, 'journal'), files);
  const parts = await Promise.all(
    [...new Set(files)].sort().map(async (f) => {
      const s = await stat(f).catch(() => undefined);
      return s ? `${f}:${s.size}:${s.mtimeMs}:${s.ino}` : `${f}:absent`;
    }),
  );
  return parts.join('\n');
}

/**
 * The lab view, read again only when a file it came from changed: lab.yaml, everything under
 * personas/ and journal/, and the files personas name elsewhere (compose files, sources).
 * Statting them costs a few milliseconds; validating the lab costs a hundred or more.
 */
export function cachedLabView(root: string): () => Promise<LabView> {
  let last: { key: string; extra: string[]; view: LabView } | undefined;
  return async () => {
    if (last && (await fingerprint(root, last.extra)) === last.key) return last.view;
    const before = last?.extra ?? [];
    const keyBefore = await fingerprint(root, before);
    const view = await readLabView(root);
    const refs = new Set<string>();
    for (const r of view.rows) referenced(r.loaded?.persona, refs);
    const extra = [...refs].sort();
    // Keyed on the files as they were before the read, so a change made during the read is read next time.
    const key = extra.join() === before.join() ? keyBefore : await fingerprint(root, extra);
    last = { key, extra, view };
    return view;
  };
}
