import { posix } from 'node:path';
import type { Diagnostic, SourceLocation } from '@lab/core';
import { MIXIN_KEYS } from './schema/persona.js';
import { suggestion } from './_suggest.js';
import { LIMITS } from './_limits.js';
import type { LabFiles } from './_files-io.js';
import type { Layer } from './_compose.js';
import type { TMap, TNode } from './_tree.js';

/**
 * Resolve `include:` into the ordered list of layers: depth first, each file after the
 * files it includes, a file included twice (a diamond) applied once at its first place.
 */

export const PERSONAS_DIR = 'personas';

function err(source: SourceLocation, path: string, summary: string, hint?: string): Diagnostic {
  return { severity: 'error', code: 'LAB_INTENT_INVALID', summary, source, path, ...(hint === undefined ? {} : { hint }) };
}

function topMap(tree: TNode, file: string, diagnostics: Diagnostic[]): TMap | undefined {
  if (tree.kind === 'map') return tree;
  diagnostics.push(err(tree.origin, '', `expected the file to be a map of keys, got a ${tree.kind === 'seq' ? 'list' : 'single value'}`, `start ${file} with keys such as name: and vm:`));
  return undefined;
}

/** `complete` is false when an included file is missing or unreadable: then the composed persona
 * would only produce follow-on errors (a field the mixin would have supplied), so it is not checked. */
export function resolveLayers(files: LabFiles, entry: string, entryTree: TMap): { layers: Layer[]; diagnostics: Diagnostic[]; complete: boolean } {
  const diagnostics: Diagnostic[] = [];
  const layers: Layer[] = [];
  const done = new Set<string>();
  let complete = true;
  let included = 0;

  const visit = (file: string, tree: TMap, stack: readonly string[]): void => {
    const include = tree.entries.get('include');
    if (include !== undefined) {
      if (include.value.kind !== 'seq') {
        diagnostics.push(err(include.value.origin, 'include', 'expected a list of mixin files', 'write include: [_mixins/base.yaml]'));
        complete = false;
      } else {
        for (const [i, item] of include.value.items.entries()) {
          const path = `include[${item.index ?? i}]`;
          if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value === '') {
            diagnostics.push(err(item.origin, path, 'expected a mixin file path like "_mixins/base.yaml"', 'write each include as a path relative to personas/, e.g. - _mixins/base.yaml'));
            complete = false;
            continue;
          }
          const target = posix.normalize(posix.join(PERSONAS_DIR, item.value));
          if (item.value.startsWith('/') || !target.startsWith(`${PERSONAS_DIR}/`) || !/\.ya?ml$/.test(target)) {
            diagnostics.push(err(item.origin, path, `cannot include ${JSON.stringify(item.value)}`, 'include YAML files inside personas/, written relative to it: _mixins/base.yaml'));
            complete = false;
            continue;
          }
          if (stack.includes(target)) {
            const cycle = [...stack.slice(stack.indexOf(target)), target].join(' → ');
            diagnostics.push(err(item.origin, path, `include cycle: ${cycle}`, 'remove one of these includes; a mixin cannot include itself, directly or indirectly'));
            continue;
          }
          if (done.has(target)) continue;
          if (stack.length > LIMITS.includeDepth) {
            diagnostics.push(err(item.origin, path, `includes nest more than ${LIMITS.includeDepth} files deep: ${[...stack, target].join(' → ')}`, 'include the shared mixins from the persona directly instead of through a chain'));
            complete = false;
            continue;
          }
          if (++included > LIMITS.includes) {
            diagnostics.push(err(item.origin, path, `more than ${LIMITS.includes} files included`, 'merge small mixins into fewer files'));
            complete = false;
            continue;
          }
          const parsed = files.yaml(target);
          if (parsed?.refused !== undefined) {
            diagnostics.push(err(item.origin, path, `cannot include ${JSON.stringify(item.value)}: ${parsed.refused.why}`, parsed.refused.hint));
            complete = false;
            continue;
          }
          if (parsed === undefined) {
            const known = files
              .list(posix.join(PERSONAS_DIR, '_mixins'), 'files')
              .filter((f) => /\.ya?ml$/.test(f))
              .map((f) => `_mixins/${f}`);
            diagnostics.push(err(item.origin, path, `mixin ${target} does not exist`, known.length > 0 ? suggestion(item.value, known, 'mixins') : 'create it under personas/_mixins/'));
            complete = false;
            continue;
          }
          diagnostics.push(...parsed.diagnostics);
          const mixin = parsed.tree === undefined ? undefined : topMap(parsed.tree, target, diagnostics);
          if (mixin === undefined) {
            complete = false;
            continue;
          }
          for (const [key, e] of mixin.entries) {
            if (key === 'name' || key === 'lifecycle') {
              diagnostics.push(err(e.keyOrigin, key, `a mixin cannot set ${key}`, `${key} belongs in the persona file that includes the mixin`));
            } else if (!(MIXIN_KEYS as readonly string[]).includes(key)) {
              diagnostics.push(err(e.keyOrigin, key, `unknown key "${key}"`, suggestion(key, MIXIN_KEYS, 'allowed keys')));
            }
          }
          visit(target, mixin, [...stack, target]);
        }
      }
    }
    done.add(file);
    layers.push({ file, tree });
  };

  visit(entry, entryTree, [entry]);
  return { layers, diagnostics, complete };
}

export { topMap };
