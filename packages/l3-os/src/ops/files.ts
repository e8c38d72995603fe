import { isSecret, type Diagnostic, type FieldDiff, type Impact, type Secret } from '@lab/core';
import { shq } from '@lab/ssh';
import { pathDigestFact, pathFact, type PathInfo } from '../facts/files.js';
import { editBlock, editLine, unifiedDiff } from './_text.js';
import {
  fieldDiffs,
  makeChange,
  noopChange,
  result,
  sha256,
  shortDigest,
  type HandlerId,
  type OpContext,
  type Operation,
  type Step,
} from './operation.js';

export interface Ownership {
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

export interface FileSpec extends Ownership {
  readonly path: string;
  readonly state: 'present' | 'absent';
  /** Final content (templates already rendered); a Secret keeps it out of plans and facts. */
  readonly content?: string | Secret<string>;
  readonly notify?: readonly HandlerId[];
  readonly validate?: string;
  /** Address kind and key; default `file[<path>]`. */
  readonly kind?: string;
  readonly key?: string;
}

export function normMode(mode: string): string {
  return mode.replace(/^0o/, '').padStart(4, '0');
}

export function impactOf(notify: readonly HandlerId[] | undefined): Impact {
  if (notify?.some((h) => h.startsWith('restart:'))) return 'restart';
  if (notify?.some((h) => h.startsWith('reload:'))) return 'reload';
  return 'none';
}

/** What a plan holds in place of a secret file's digest. */
export const SENSITIVE = '(sensitive)';

function revealed(content: string | Secret<string>): string {
  return isSecret(content) ? content.reveal() : content;
}

const NUMERIC_ID = /^\d+$/;

/**
 * Ownership as found, in the persona's terms: a persona may name an owner by id (`"65534"`,
 * common for container users with no account in the guest), which stat reports by name.
 */
export function foundOwnership(info: { readonly mode: string; readonly owner: string; readonly group: string; readonly uid?: string; readonly gid?: string }, want: Ownership): Ownership {
  return {
    mode: info.mode,
    owner: NUMERIC_ID.test(want.owner) ? (info.uid ?? info.owner) : info.owner,
    group: NUMERIC_ID.test(want.group) ? (info.gid ?? info.group) : info.group,
  };
}

/** Predicted path fact after writing `content` with `own`. */
export function writtenPath(content: string, own: Ownership, withContent: boolean): PathInfo {
  return {
    exists: true,
    type: 'file',
    mode: normMode(own.mode),
    owner: own.owner,
    group: own.group,
    size: Buffer.byteLength(content),
    sha256: sha256(content),
    ...(withContent ? { content } : {}),
  };
}

/** Steps that bring an existing or missing file to `content` and ownership. */
function convergeFile(spec: FileSpec, info: PathInfo, text: string): { steps: Step[]; diff: FieldDiff[]; contentChanged: boolean } {
  const want = { mode: normMode(spec.mode), owner: spec.owner, group: spec.group };
  const isFile = info.exists && info.type === 'file';
  const contentChanged = !isFile || info.sha256 !== sha256(text);
  const have = isFile ? foundOwnership(info, want) : {};
  const diff = fieldDiffs(have, want, ['mode', 'owner', 'group']);
  if (contentChanged) {
    const sensitive = spec.content !== undefined && isSecret(spec.content);
    // No digest of a secret leaves lab (adr/0166): an unsalted hash of a low-entropy secret can
    // be confirmed offline. The change itself is still shown, as masked.
    diff.unshift({
      path: 'content',
      ...(isFile ? { before: sensitive ? SENSITIVE : shortDigest(info.sha256) } : {}),
      after: sensitive ? SENSITIVE : shortDigest(sha256(text)),
      ...(sensitive ? { sensitive: true } : {}),
    });
    const write: Step = {
      kind: 'write',
      description: `write ${spec.path}`,
      path: spec.path,
      content: spec.content ?? text,
      ...want,
      ...(spec.validate ? { validate: spec.validate } : {}),
    };
    return { steps: [write], diff, contentChanged };
  }
  if (diff.length === 0) return { steps: [], diff, contentChanged };
  const script = `chown ${shq(`${spec.owner}:${spec.group}`)} ${shq(spec.path)} && chmod ${want.mode} ${shq(spec.path)}`;
  return { steps: [{ kind: 'shell', description: `set owner/mode of ${spec.path}`, script }], diff, contentChanged };
}

/** A whole file lab owns: content (text, rendered template or secret), owner, group, mode. */
export function fileOp(ctx: OpContext, spec: FileSpec): Operation {
  const sensitive = spec.content !== undefined && isSecret(spec.content);
  const fact = sensitive ? pathDigestFact(spec.path) : pathFact(spec.path);
  const kind = spec.kind ?? 'file';
  const key = spec.key ?? spec.path;
  return {
    id: `${kind}[${key}]`,
    facts: [fact],
    plan(facts) {
      const info = facts.get(fact);
      if (spec.state === 'absent') {
        if (!info.exists) return result([noopChange(ctx, kind, key, 'absent as declared')]);
        const steps: Step[] = [{ kind: 'shell', description: `remove ${spec.path}`, script: `rm -f -- ${shq(spec.path)}` }];
        const unified = !sensitive && info.type === 'file' && info.content !== undefined ? unifiedDiff(spec.path, info.content, '') : undefined;
        return result(
          [makeChange(ctx, kind, key, { action: 'delete', impact: impactOf(spec.notify), before: { sha256: sensitive ? SENSITIVE : shortDigest(info.sha256) }, steps, ...(unified ? { unifiedDiff: unified } : {}) })],
          steps,
          { notify: spec.notify ?? [], predicts: [[fact, { exists: false }]] },
        );
      }
      if (info.exists && info.type !== 'file') {
        const d: Diagnostic = {
          severity: 'error',
          code: 'LAB_L3_PATH_CONFLICT',
          summary: `${spec.path} is a ${info.type} on the guest, the persona declares a file`,
          hint: `remove it on the guest or change the path in the persona`,
        };
        return result([noopChange(ctx, kind, key, `refused: ${spec.path} is a ${info.type}`)], [], { diagnostics: [d] });
      }
      const text = revealed(spec.content ?? '');
      const { steps, diff, contentChanged } = convergeFile(spec, info, text);
      const digest = (hex: string | undefined): string | undefined => (sensitive ? SENSITIVE : shortDigest(hex));
      if (steps.length === 0) return result([noopChange(ctx, kind, key, 'content, owner and mode match', { sha256: digest(info.exists ? info.sha256 : undefined) })]);
      const unified = !sensitive && contentChanged ? unifiedDiff(spec.path, info.exists ? (info.content ?? '') : '', text) : undefined;
      const change = makeChange(ctx, kind, key, {
        action: info.exists ? 'update' : 'create',
        impact: contentChanged ? impactOf(spec.notify) : 'none',
        ...(info.exists ? { before: { sha256: digest(info.sha256), mode: info.mode, owner: info.owner, group: info.group } } : {}),
        after: { sha256: digest(sha256(text)), mode: normMode(spec.mode), owner: spec.owner, group: spec.group },
        diff,
        steps,
        ...(sensitive ? { sensitivePaths: ['content', 'sha256', 'before.sha256', 'after.sha256'] } : {}),
        ...(unified ? { unifiedDiff: unified } : {}),
      });
      return result([change], steps, {
        notify: contentChanged ? (spec.notify ?? []) : [],
        predicts: [[fact, writtenPath(text, spec, !sensitive)]],
      });
    },
  };
}

export interface DirectorySpec extends Ownership {
  readonly path: string;
  readonly state: 'present' | 'absent';
}

export function directoryOp(ctx: OpContext, spec: DirectorySpec): Operation {
  const fact = pathFact(spec.path);
  const p = shq(spec.path);
  return {
    id: `directory[${spec.path}]`,
    facts: [fact],
    plan(facts) {
      const info = facts.get(fact);
      if (spec.state === 'absent') {
        if (!info.exists) return result([noopChange(ctx, 'directory', spec.path, 'absent as declared')]);
        if (info.type !== 'directory' || (info.entries ?? 0) > 0) {
          const why = info.type !== 'directory' ? `is a ${info.type}` : `is not empty (${info.entries} entries)`;
          return result([noopChange(ctx, 'directory', spec.path, `kept: ${spec.path} ${why}`)], [], {
            diagnostics: [{ severity: 'warning', code: 'LAB_L3_DIR_NOT_EMPTY', summary: `directory ${spec.path} ${why}; lab removes only empty directories`, hint: 'move its content away, or drop the entry from the persona' }],
          });
        }
        const steps: Step[] = [{ kind: 'shell', description: `remove ${spec.path}`, script: `rmdir -- ${p}` }];
        return result([makeChange(ctx, 'directory', spec.path, { action: 'delete', steps })], steps, { predicts: [[fact, { exists: false }]] });
      }
      const want = { mode: normMode(spec.mode), owner: spec.owner, group: spec.group };
      if (info.exists && info.type !== 'directory') {
        return result([noopChange(ctx, 'directory', spec.path, `refused: ${spec.path} is a ${info.type}`)], [], {
          diagnostics: [{ severity: 'error', code: 'LAB_L3_PATH_CONFLICT', summary: `${spec.path} is a ${info.type} on the guest, the persona declares a directory`, hint: 'remove it on the guest or change the path in the persona' }],
        });
      }
      const have = info.exists ? foundOwnership(info, want) : {};
      const diff = fieldDiffs(have, want, ['mode', 'owner', 'group']);
      if (info.exists && diff.length === 0) return result([noopChange(ctx, 'directory', spec.path, 'exists with owner and mode', want)]);
      const script = `mkdir -p -- ${p} && chown ${shq(`${spec.owner}:${spec.group}`)} ${p} && chmod ${want.mode} ${p}`;
      const steps: Step[] = [{ kind: 'shell', description: `${info.exists ? 'fix' : 'create'} ${spec.path}`, script }];
      const predicted: PathInfo = { exists: true, type: 'directory', ...want, size: 4096, entries: info.exists ? (info.entries ?? 0) : 0 };
      return result(
        [makeChange(ctx, 'directory', spec.path, { action: info.exists ? 'update' : 'create', ...(info.exists ? { before: have } : {}), after: want, diff, steps })],
        steps,
        { predicts: [[fact, predicted]] },
      );
    },
  };
}

export interface EditSpec {
  readonly path: string;
  readonly notify?: readonly HandlerId[];
  readonly validate?: string;
  /** Create the file (root, 0644) when missing; otherwise a missing file fails the apply. */
  readonly create: boolean;
}

/**
 * Shared by lines and blocks: compute the new content from the current one, write the whole
 * file atomically keeping its owner and mode. A file that is missing at plan time may come from
 * a package installed earlier in the same apply; if it is still missing then, the step fails.
 */
function editOp(ctx: OpContext, kind: string, key: string, spec: EditSpec, edit: (content: string) => string): Operation {
  const fact = pathFact(spec.path);
  return {
    id: `${kind}[${key}]`,
    facts: [fact],
    plan(facts) {
      const info = facts.get(fact);
      if (info.exists && info.type !== 'file') {
        return result([noopChange(ctx, kind, key, `refused: ${spec.path} is a ${info.type}`)], [], {
          diagnostics: [{ severity: 'error', code: 'LAB_L3_PATH_CONFLICT', summary: `${spec.path} is a ${info.type}, not a file`, hint: 'fix the path in the persona' }],
        });
      }
      if (info.exists && info.content === undefined) {
        return result([noopChange(ctx, kind, key, `refused: ${spec.path} is larger than 1 MiB`)], [], {
          diagnostics: [{ severity: 'error', code: 'LAB_L3_FILE_TOO_LARGE', summary: `${spec.path} is too large for line edits`, hint: 'manage the whole file with os.files instead' }],
        });
      }
      const before = info.exists ? (info.content ?? '') : '';
      const after = edit(before);
      if (info.exists && after === before) return result([noopChange(ctx, kind, key, 'already as declared')]);
      if (!info.exists && after === '') return result([noopChange(ctx, kind, key, 'file absent, nothing to remove')]);
      if (!info.exists && !spec.create) {
        const script = `[ -f ${shq(spec.path)} ] || { echo "lab: ${spec.path} does not exist and create is false" >&2; return 1; }`;
        // At apply time, facts are fresh: reaching this means nothing created the file.
        const steps: Step[] = [{ kind: 'shell', description: `require ${spec.path}`, script }];
        return result([makeChange(ctx, kind, key, { action: 'update', impact: impactOf(spec.notify), steps, reason: `${spec.path} does not exist yet; an earlier operation must create it` })], steps);
      }
      const own: Ownership = info.exists ? { mode: info.mode, owner: info.owner, group: info.group } : { mode: '0644', owner: 'root', group: 'root' };
      const steps: Step[] = [
        { kind: 'write', description: `edit ${spec.path}`, path: spec.path, content: after, ...own, ...(spec.validate ? { validate: spec.validate } : {}) },
      ];
      const unified = unifiedDiff(spec.path, before, after);
      return result(
        [makeChange(ctx, kind, key, { action: info.exists ? 'update' : 'create', impact: impactOf(spec.notify), diff: [{ path: 'content', before: shortDigest(info.exists ? info.sha256 : undefined), after: shortDigest(sha256(after)) }], steps, ...(unified ? { unifiedDiff: unified } : {}) })],
        steps,
        { notify: spec.notify ?? [], predicts: [[fact, writtenPath(after, own, true)]] },
      );
    },
  };
}

export interface LineSpec extends EditSpec {
  readonly line: string;
  readonly match?: string;
  readonly state: 'present' | 'absent';
}

export function lineOp(ctx: OpContext, spec: LineSpec): Operation {
  const key = `${spec.path}:${spec.match ?? spec.line}`;
  return editOp(ctx, 'line', key, spec, (content) => editLine(content, { line: spec.line, ...(spec.match === undefined ? {} : { match: spec.match }), state: spec.state }));
}

export interface BlockSpec extends EditSpec {
  readonly marker: string;
  readonly content: string;
  readonly state: 'present' | 'absent';
}

export function blockOp(ctx: OpContext, spec: BlockSpec): Operation {
  return editOp(ctx, 'block', `${spec.path}#${spec.marker}`, spec, (content) => editBlock(content, spec.marker, spec.content, spec.state));
}
