import { resolve } from 'node:path';
import { LabError, type Diagnostic } from '@lab/core';
import { compose } from './_compose.js';
import { digestOf, intentError, NOT_FOUND, sortDiagnostics } from './_error.js';
import { LabFiles } from './_files-io.js';
import { parseWithSchema } from './_issues.js';
import { PERSONAS_DIR, resolveLayers, topMap } from './_layers.js';
import { checkPersonaFiles } from './_checks.js';
import { personaSchema } from './schema/persona.js';
import { suggestion } from './_suggest.js';
import { locate, toData, type TMap } from './_tree.js';
import type { LoadedPersona, Persona } from './types.js';

export interface PersonaLoad {
  readonly loaded?: LoadedPersona;
  readonly errors: readonly Diagnostic[];
  /** The composed tree, kept for cross-file checks even when the persona itself is valid. */
  readonly tree?: TMap;
}

/** Names of the personas: folders under `personas/` not starting with `_` or `.`, sorted. */
export async function listPersonaNames(root: string): Promise<string[]> {
  return listNames(new LabFiles(resolve(root)));
}

export function listNames(files: LabFiles): string[] {
  return files.list(PERSONAS_DIR, 'dirs').filter((d) => !d.startsWith('_') && !d.startsWith('.'));
}

/**
 * Load one persona: read it and its mixins, compose, validate, check referenced files.
 * Throws a LabError `LAB_INTENT_INVALID` listing every problem with file:line:col.
 */
export async function loadPersona(root: string, name: string): Promise<LoadedPersona> {
  const files = new LabFiles(resolve(root));
  const r = loadPersonaWith(files, name);
  if (r.loaded === undefined) throw intentError(r.errors);
  return r.loaded;
}

export function loadPersonaWith(files: LabFiles, name: string): PersonaLoad {
  const dir = `${PERSONAS_DIR}/${name}`;
  const file = `${dir}/persona.yaml`;
  const parsed = files.yaml(file);
  if (parsed === undefined) {
    const names = listNames(files);
    throw new LabError({
      code: NOT_FOUND,
      summary: `no persona "${name}": ${file} does not exist`,
      hint: names.length === 0 ? `create ${file}` : suggestion(name, names, 'personas'),
    });
  }
  if (parsed.tree === undefined) return { errors: parsed.diagnostics };
  const errors: Diagnostic[] = [...parsed.diagnostics];
  const top = topMap(parsed.tree, file, errors);
  if (top === undefined) return { errors };
  const { layers, diagnostics, complete } = resolveLayers(files, file, top);
  errors.push(...diagnostics);
  if (!complete) return { errors: sortDiagnostics(errors) };
  const composed = compose(layers);
  errors.push(...composed.errors);
  const tree = composed.tree;
  const data = toData(tree);
  const nameEntry = tree.entries.get('name');
  if (nameEntry?.value.kind === 'scalar' && typeof nameEntry.value.value === 'string' && nameEntry.value.value !== name) {
    errors.push({
      severity: 'error',
      code: 'LAB_INTENT_INVALID',
      summary: `name "${nameEntry.value.value}" does not match the folder ${dir}`,
      hint: `set name: ${name}, or rename the folder to ${PERSONAS_DIR}/${nameEntry.value.value}`,
      source: nameEntry.value.origin,
      path: 'name',
    });
  }
  const result = parseWithSchema(personaSchema(), tree, data);
  errors.push(...result.diagnostics);
  if (result.data === undefined) return { errors: sortDiagnostics(errors), tree };
  const persona = result.data as Persona;
  errors.push(...checkPersonaFiles(files, persona, tree));
  if (errors.length > 0) return { errors: sortDiagnostics(errors), tree };
  const loaded: LoadedPersona = {
    name,
    persona,
    file,
    dir,
    files: layers.map((l) => l.file),
    digest: digestOf(persona),
    warnings: sortDiagnostics(composed.warnings),
    locate: (path) => {
      const l = locate(tree, path);
      return { source: l.source, path: l.path };
    },
  };
  return { loaded, errors: [], tree };
}
