import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import { LabError, type Diagnostic } from '@lab/core';
import { checkImageOverrides, type ImageOverrides } from './image-overrides.js';

function invalid(file: string, diagnostics: Diagnostic[]): LabError {
  return new LabError({
    code: 'LAB_L4_IMAGE_OVERRIDES_INVALID',
    summary: `${file}: ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} in the image overrides`,
    diagnostics,
    hint: 'the file is a YAML map: upstream image (repo, repo:tag or prefix/) → image to run instead',
  });
}

/**
 * An overrides map kept in its own YAML file, in the shape of lab.yaml's
 * `workloads.imageOverrides` (the test lane ships one: tools/test-images/image-overrides.yaml).
 * Problems point at file:line:col.
 */
export async function readImageOverrides(file: string): Promise<ImageOverrides> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new LabError({ code: 'LAB_L4_IMAGE_OVERRIDES_INVALID', summary: `cannot read the image overrides file ${file}`, cause, hint: 'check the path' });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0);
    return { file, line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw invalid(file, doc.errors.map((e) => ({ severity: 'error', code: 'LAB_L4_IMAGE_OVERRIDES_INVALID', summary: `not valid YAML: ${e.message.split('\n')[0]}`, source: at(e.pos[0]) })));
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) throw invalid(file, [{ severity: 'error', code: 'LAB_L4_IMAGE_OVERRIDES_INVALID', summary: 'expected a map of image → image', source: at(0) }]);
  const map: Record<string, string> = {};
  const where = new Map<string, number | undefined>();
  const problems: Diagnostic[] = [];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    const value = isScalar(pair.value) ? pair.value.value : undefined;
    const offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    if (typeof key !== 'string' || typeof value !== 'string') {
      problems.push({ severity: 'error', code: 'LAB_L4_IMAGE_OVERRIDES_INVALID', summary: 'each entry maps an image (text) to an image (text)', source: at(offset) });
      continue;
    }
    map[key] = value;
    where.set(key, offset);
  }
  for (const d of checkImageOverrides(map)) {
    const key = Object.keys(map).find((k) => d.path === `workloads.imageOverrides.${k}`);
    const { path: _path, ...rest } = d;
    problems.push({ ...rest, source: at(key === undefined ? 0 : where.get(key)) });
  }
  if (problems.length > 0) throw invalid(file, problems);
  return map;
}
