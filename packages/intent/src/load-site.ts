import { resolve } from 'node:path';
import { LabError, type Diagnostic } from '@lab/core';
import { digestOf, intentError, NOT_FOUND, sortDiagnostics } from './_error.js';
import { LabFiles } from './_files-io.js';
import { parseWithSchema } from './_issues.js';
import { topMap } from './_layers.js';
import { siteSchema } from './schema/site.js';
import { locate, toData } from './_tree.js';
import { resolveBakes } from './_bake.js';
import type { LoadedSite, RawSite, Site } from './types.js';

export const SITE_FILE = 'lab.yaml';

/** Load and validate `lab.yaml`. Throws a LabError `LAB_INTENT_INVALID` listing every problem. */
export async function loadSite(root: string): Promise<LoadedSite> {
  const r = loadSiteWith(new LabFiles(resolve(root)));
  if (r.loaded === undefined) throw intentError(r.errors);
  return r.loaded;
}

export function loadSiteWith(files: LabFiles): { loaded?: LoadedSite; errors: readonly Diagnostic[] } {
  const parsed = files.yaml(SITE_FILE);
  if (parsed === undefined) {
    throw new LabError({
      code: NOT_FOUND,
      summary: `no ${SITE_FILE} in ${files.root}`,
      hint: 'run lab from the root of your lab repository (the folder with lab.yaml), or pass --root <dir>',
    });
  }
  if (parsed.tree === undefined) return { errors: parsed.diagnostics };
  // What the parser found (unknown aliases, merge keys, duplicate keys, limits) is an error
  // even when a tree came out: the tree then lacks what the file tried to say.
  const errors: Diagnostic[] = [...parsed.diagnostics];
  const tree = topMap(parsed.tree, SITE_FILE, errors);
  if (tree === undefined) return { errors };
  const result = parseWithSchema(siteSchema(), tree, toData(tree));
  errors.push(...result.diagnostics);
  if (result.data === undefined || errors.length > 0) return { errors: sortDiagnostics(errors) };
  const baked = resolveBakes(files, SITE_FILE, tree, result.data as RawSite);
  if (baked.errors.length > 0) return { errors: sortDiagnostics(baked.errors) };
  const site: Site = baked.site;
  return {
    loaded: {
      site,
      file: SITE_FILE,
      digest: digestOf(site),
      warnings: [],
      locate: (path) => {
        const l = locate(tree, path);
        return { source: l.source, path: l.path };
      },
    },
    errors: [],
  };
}
