import { resolve } from 'node:path';
import { isLabError, type Diagnostic } from '@lab/core';
import { crossCheck } from './_cross.js';
import { intentError, NOT_FOUND } from './_error.js';
import { LabFiles } from './_files-io.js';
import { listNames, loadPersonaWith, type PersonaLoad } from './load-persona.js';
import { loadSiteWith } from './load-site.js';
import type { Lab, LoadedPersona } from './types.js';

/**
 * Load the whole lab: lab.yaml and every persona, validated alone and against each other.
 * Problems of all files are collected into one LabError, so a single `lab validate` run
 * lists everything to fix.
 */
export async function loadLab(root: string): Promise<Lab> {
  const files = new LabFiles(resolve(root));
  const site = loadSiteWith(files);
  const loads = listNames(files).map((n) => {
    try {
      return loadPersonaWith(files, n);
    } catch (e) {
      return missing(e, n);
    }
  });
  const errors: Diagnostic[] = [...site.errors];
  const personas: LoadedPersona[] = [];
  for (const l of loads) {
    errors.push(...l.errors);
    if (l.loaded !== undefined) personas.push(l.loaded);
  }
  if (site.loaded !== undefined) errors.push(...crossCheck(site.loaded.site, personas));
  if (errors.length > 0 || site.loaded === undefined) throw intentError(errors);
  return {
    root: files.root,
    site: site.loaded,
    personas,
    warnings: personas.flatMap((p) => p.warnings),
  };
}

/** A folder under personas/ without persona.yaml is a finding of the lab, not a crash. */
function missing(e: unknown, name: string): PersonaLoad {
  if (!isLabError(e) || e.code !== NOT_FOUND) throw e;
  const file = `personas/${name}/persona.yaml`;
  return {
    errors: [
      {
        severity: 'error',
        code: 'LAB_INTENT_INVALID',
        summary: `personas/${name}/ has no persona.yaml`,
        hint: `create ${file}, or prefix the folder with "_" if it holds shared files`,
        source: { file, line: 1, column: 1 },
        path: '',
      },
    ],
  };
}
