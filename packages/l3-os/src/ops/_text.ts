import { createTwoFilesPatch } from 'diff';

/**
 * Unified diff of a text file, as `diff -u` would print it (`a/…`, `b/…` headers). Returns
 * undefined for binary-looking content, where a diff would be noise.
 */
export function unifiedDiff(path: string, before: string, after: string): string | undefined {
  if (before === after) return undefined;
  if (before.includes('\0') || after.includes('\0')) return undefined;
  const patch = createTwoFilesPatch(`a${path}`, `b${path}`, before, after, undefined, undefined, { context: 3 });
  // Drop the `Index:`/`===` preamble some versions add; keep from the `---` header on.
  const start = patch.indexOf('--- ');
  return start >= 0 ? patch.slice(start) : patch;
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export interface LineEdit {
  readonly line: string;
  /** Regular expression (JavaScript syntax) of lines to replace; default: the line itself, exactly. */
  readonly match?: string;
  readonly state: 'present' | 'absent';
}

/**
 * `present`: the first matching line becomes `line` and later matches are removed, so a
 * directive ends up exactly once (sshd and most daemons honour the first occurrence); without
 * a match the line is appended. `absent`: every matching line is removed.
 */
export function editLine(content: string, edit: LineEdit): string {
  const lines = splitLines(content);
  const re = edit.match === undefined ? undefined : new RegExp(edit.match);
  const matches = (l: string) => (re ? re.test(l) : l === edit.line);
  if (edit.state === 'absent') return joinLines(lines.filter((l) => !matches(l) && l !== edit.line));
  const first = lines.findIndex(matches);
  if (first < 0) return joinLines([...lines, edit.line]);
  const out = lines.filter((l, i) => i <= first || !matches(l));
  out[first] = edit.line;
  return joinLines(out);
}

export function blockMarkers(marker: string): { readonly begin: string; readonly end: string } {
  return { begin: `# BEGIN ${marker}`, end: `# END ${marker}` };
}

/** Replace (or append, or with `absent` remove) the block between `# BEGIN m` and `# END m`. */
export function editBlock(content: string, marker: string, body: string, state: 'present' | 'absent'): string {
  const { begin, end } = blockMarkers(marker);
  const lines = splitLines(content);
  const b = lines.indexOf(begin);
  const e = b < 0 ? -1 : lines.indexOf(end, b + 1);
  const block = state === 'present' ? [begin, ...splitLines(body), end] : [];
  if (b >= 0 && e >= 0) return joinLines([...lines.slice(0, b), ...block, ...lines.slice(e + 1)]);
  return joinLines([...lines, ...block]);
}
