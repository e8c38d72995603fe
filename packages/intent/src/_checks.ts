import type { Diagnostic } from '@lab/core';
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { LabFiles } from './_files-io.js';
import type { Persona } from './types.js';
import { locate, type TNode } from './_tree.js';

/**
 * Checks that need the file system or a second file: referenced files exist, and compose
 * images in a stable persona are pinned (a stable persona must rebuild the same tomorrow).
 */

type At = (path: readonly (string | number)[]) => { source: Diagnostic['source']; path: string };

function err(at: ReturnType<At>, summary: string, hint?: string): Diagnostic {
  return { severity: 'error', code: 'LAB_INTENT_INVALID', summary, path: at.path, ...(at.source ? { source: at.source } : {}), ...(hint === undefined ? {} : { hint }) };
}

export async function checkPersonaFiles(files: LabFiles, persona: Persona, tree: TNode): Promise<Diagnostic[]> {
  const at: At = (path) => locate(tree, path);
  const out: Diagnostic[] = [];
  const mustExist = async (file: string, path: (string | number)[], what: string): Promise<boolean> => {
    if (await files.isFile(file)) return true;
    out.push(err(at(path), `${what} ${file} does not exist`, 'paths are relative to the YAML file that declares them'));
    return false;
  };
  const checks: Promise<unknown>[] = [];
  persona.os.files.forEach((f, i) => {
    if (f.source !== undefined) checks.push(mustExist(f.source, ['os', 'files', i, 'source'], 'source file'));
  });
  persona.os.apt.repositories.forEach((r, i) => {
    if (r.signedBy.file !== undefined) checks.push(mustExist(r.signedBy.file, ['os', 'apt', 'repositories', i, 'signedBy', 'file'], 'key file'));
  });
  const stable = persona.lifecycle.stage === 'stable';
  persona.workloads.stacks.forEach((s, i) => {
    s.files.forEach((f, j) => {
      if (f.source !== undefined) checks.push(mustExist(f.source, ['workloads', 'stacks', i, 'files', j, 'source'], 'source file'));
    });
    if (typeof s.compose === 'string') {
      const file = s.compose;
      checks.push(
        mustExist(file, ['workloads', 'stacks', i, 'compose'], 'compose file').then(async (ok) => {
          if (ok) out.push(...checkComposeText(file, (await files.text(file)) ?? '', stable));
        }),
      );
    } else if (stable) {
      out.push(...checkInlineCompose(s.compose, (p) => at(['workloads', 'stacks', i, 'compose', ...p])));
    }
  });
  await Promise.all(checks);
  return out;
}

const PIN_HINT = 'pin a version tag such as jellyfin/jellyfin:10.10.7 (or a @sha256 digest), or make the persona lifecycle.stage: experimental';

/** Why an image reference is not pinned, or undefined when it is. */
export function unpinned(image: string): string | undefined {
  if (image.includes('${')) return undefined;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return `image ${image} has no tag (means latest)`;
  const tag = lastSegment.slice(colon + 1);
  if (/^(?:latest|stable|main|master|edge|nightly|dev)$/i.test(tag)) return `image ${image} uses the floating tag "${tag}"`;
  return undefined;
}

function checkComposeText(file: string, text: string, stable: boolean): Diagnostic[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const pos = (offset: number) => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => err({ source: pos(e.pos[0]), path: '' }, `YAML syntax error in compose file: ${e.message}`, 'fix the compose file; `docker compose config` shows the same error'));
  }
  const services = isMap(doc.contents) ? doc.contents.get('services', true) : undefined;
  if (!isMap(services)) return [err({ source: pos(0), path: 'services' }, 'the compose file has no services map', 'a compose file starts with services:')];
  if (!stable) return [];
  const out: Diagnostic[] = [];
  for (const pair of services.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '?';
    const image = isMap(pair.value) ? (pair.value.get('image', true) as YamlNode | undefined) : undefined;
    if (!isScalar(image) || typeof image.value !== 'string') continue;
    const why = unpinned(image.value);
    if (why !== undefined) out.push(err({ source: pos(image.range?.[0] ?? 0), path: `services.${name}.image` }, why, PIN_HINT));
  }
  return out;
}

function checkInlineCompose(compose: Readonly<Record<string, unknown>>, at: At): Diagnostic[] {
  const services = compose['services'];
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    return [err(at([]), 'the inline compose document has no services map', 'an inline compose document starts with services:')];
  }
  const out: Diagnostic[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const image = typeof svc === 'object' && svc !== null ? (svc as Record<string, unknown>)['image'] : undefined;
    if (typeof image !== 'string') continue;
    const why = unpinned(image);
    if (why !== undefined) out.push(err(at(['services', name, 'image']), why, PIN_HINT));
  }
  return out;
}
