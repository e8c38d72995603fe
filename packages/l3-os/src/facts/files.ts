import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

export type PathType = 'file' | 'directory' | 'symlink' | 'other';

/** What `stat` says about a path, with the content of a regular file when asked for. */
export type PathInfo =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly type: PathType;
      /** Four octal digits, e.g. `0644`. */
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
      /** Numeric ids, for personas that declare `owner: "65534"` (ids with or without a name). */
      readonly uid?: string;
      readonly gid?: string;
      readonly size: number;
      readonly sha256?: string;
      /** UTF-8 text of a regular file up to 1 MiB, when the fact asked for content. */
      readonly content?: string;
      /** Entries in a directory (to refuse removing a non-empty one). */
      readonly entries?: number;
      readonly target?: string;
    };

const MAX_CONTENT = 1 << 20;

const TYPES: Record<string, PathType> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'directory',
  'symbolic link': 'symlink',
};

function command(path: string, withContent: boolean): string {
  const p = shq(path);
  return [
    `p=${p}`,
    `[ -L "$p" ] || [ -e "$p" ] || return 3`,
    `stat -c '%F|%a|%U|%G|%u|%g|%s' -- "$p"`,
    `if [ -L "$p" ]; then readlink -- "$p"; else echo; fi`,
    `if [ -f "$p" ] && [ ! -L "$p" ]; then`,
    `  sha256sum <"$p" | cut -c1-64`,
    withContent ? `  [ "$(stat -c %s -- "$p")" -le ${MAX_CONTENT} ] && base64 -w0 <"$p"; echo` : '  echo',
    `elif [ -d "$p" ] && [ ! -L "$p" ]; then ls -A -- "$p" | wc -l; echo; fi`,
  ].join('\n');
}

/** The fragment reading the shared probe (`LAB_STAT`, `LAB_SUM`, filled by gather's path prelude). */
function batchedCommand(path: string, withContent: boolean): string {
  return [
    `p=${shq(path)}`,
    's=${LAB_STAT[$p]-}',
    '[ -n "$s" ] || return 3',
    `printf '%s\\n' "$s"`,
    'if [ -L "$p" ]; then readlink -- "$p"; else echo; fi',
    'case $s in',
    `  'regular file|'*|'regular empty file|'*)`,
    `    printf '%s\\n' "\${LAB_SUM[$p]-}"`,
    withContent ? `    [ "\${s##*|}" -le ${MAX_CONTENT} ] && base64 -w0 <"$p"; echo ;;` : '    echo ;;',
    `  'directory|'*) shopt -s nullglob dotglob; set -- "$p"/*; shopt -u nullglob dotglob; echo $#; echo ;;`,
    'esac',
  ].join('\n');
}

function parse(withContent: boolean) {
  return (stdout: string, code: number): PathInfo => {
    if (code === 3) return { exists: false };
    if (code !== 0) throw new Error(`stat exited with ${code}`);
    const [statLine = '', link = '', third = '', b64 = ''] = stdout.split('\n');
    const [kind = '', mode = '', owner = '', group = '', uid = '', gid = '', size = '0'] = statLine.split('|');
    const type = TYPES[kind] ?? 'other';
    const base = { exists: true as const, type, mode: mode.padStart(4, '0'), owner, group, uid, gid, size: Number(size) };
    if (type === 'symlink') return { ...base, target: link };
    if (type === 'directory') return { ...base, entries: Number(third.trim()) };
    if (type !== 'file') return base;
    const content = withContent && b64 !== '' ? Buffer.from(b64, 'base64').toString('utf8') : withContent && Number(size) === 0 ? '' : undefined;
    return { ...base, sha256: third.trim(), ...(content === undefined ? {} : { content }) };
  };
}

/** A path with the content of a regular file (managed text files: diffs, line edits). */
export function pathFact(path: string): Fact<PathInfo> {
  return { name: 'path', arg: path, command: command(path, true), parse: parse(true), empty: { exists: false }, batched: { kind: 'path', arg: path, command: batchedCommand(path, true) } };
}

/** A path with only the digest of its content (secret files never leave the guest). */
export function pathDigestFact(path: string): Fact<PathInfo> {
  return { name: 'path.digest', arg: path, command: command(path, false), parse: parse(false), empty: { exists: false }, batched: { kind: 'path', arg: path, command: batchedCommand(path, false) } };
}
