import { Parser } from 'yaml';

/**
 * The first flow collection (`[` or `{`) that is never closed. The YAML parser reports an
 * unclosed bracket where it gave up — often the next line, as an indentation problem — so
 * lab looks for the bracket itself and reports it where it was opened.
 */
export function unclosedFlow(text: string): { offset: number; kind: 'sequence' | 'map' } | undefined {
  let found: { offset: number; kind: 'sequence' | 'map' } | undefined;
  const stack: unknown[] = [];
  for (const token of new Parser().parse(text)) stack.push(token);
  while (stack.length > 0) {
    const t = stack.pop();
    if (Array.isArray(t)) {
      for (const x of t) stack.push(x);
      continue;
    }
    if (typeof t !== 'object' || t === null) continue;
    const tok = t as { type?: string; start?: { source?: string; offset?: number }; end?: { source?: string }[] };
    if (tok.type === 'flow-collection' && tok.start !== undefined) {
      const open = tok.start.source;
      const close = open === '[' ? ']' : '}';
      if (!(tok.end ?? []).some((e) => e.source === close)) {
        const offset = tok.start.offset ?? 0;
        if (found === undefined || offset < found.offset) found = { offset, kind: open === '[' ? 'sequence' : 'map' };
      }
    }
    for (const v of Object.values(t)) if (typeof v === 'object' && v !== null) stack.push(v);
  }
  return found;
}
