import type { Diagnostic } from '@lab/core';
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

export function checkPersonaFiles(files: LabFiles, persona: Persona, tree: TNode): Diagnostic[] {
  const at: At = (path) => locate(tree, path);
  const out: Diagnostic[] = [];
  const mustExist = (file: string, path: (string | number)[], what: string): boolean => {
    const problem = files.check(file);
    if (problem === undefined) return true;
    if ('missing' in problem) out.push(err(at(path), `${what} ${file} does not exist`, 'paths are relative to the YAML file that declares them'));
    else out.push(err(at(path), `${what} ${problem.why}`, problem.hint));
    return false;
  };
  persona.os.files.forEach((f, i) => {
    if (f.source !== undefined) mustExist(f.source, ['os', 'files', i, 'source'], 'source file');
  });
  persona.os.apt.repositories.forEach((r, i) => {
    if (r.signedBy.file !== undefined) mustExist(r.signedBy.file, ['os', 'apt', 'repositories', i, 'signedBy', 'file'], 'key file');
  });
  const stable = persona.lifecycle.stage === 'stable';
  persona.workloads.stacks.forEach((s, i) => {
    s.files.forEach((f, j) => {
      if (f.source !== undefined) mustExist(f.source, ['workloads', 'stacks', i, 'files', j, 'source'], 'source file');
    });
    if (typeof s.compose === 'string') {
      if (mustExist(s.compose, ['workloads', 'stacks', i, 'compose'], 'compose file')) out.push(...checkComposeText(s.compose, files.text(s.compose) ?? '', stable));
    } else if (stable) {
      out.push(...checkInlineCompose(s.compose, (p) => at(['workloads', 'stacks', i, 'compose', ...p])));
    }
  });
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

/**
 * A line scan rather than a YAML parse: this is a lint over files that `docker compose config`
 * validates at apply time, and parsing every compose file would double the cost of a cold
 * `lab validate`. Block-style `image:` keys are what compose files use in practice.
 */
const IMAGE_LINE = /^(\s*)image:[ \t]*(["']?)([^"'#\s]+)\2[ \t]*(?:#.*)?$/;

function checkComposeText(file: string, text: string, stable: boolean): Diagnostic[] {
  if (!stable) return [];
  const out: Diagnostic[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const m = IMAGE_LINE.exec(line);
    if (m === null) return;
    const image = m[3] ?? '';
    const why = unpinned(image);
    const column = (m[1] ?? '').length + 1 + line.slice((m[1] ?? '').length).indexOf(image);
    if (why !== undefined) out.push(err({ source: { file, line: i + 1, column }, path: 'image' }, why, PIN_HINT));
  });
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
