/**
 * apt's machine-readable progress, as `apt-get -o APT::Status-Fd=N` writes it (one record per
 * line, fields split by `:` with the message last, so it may hold colons):
 *
 *   dlstatus:<item>:<percent>:<message>      downloading (lists or archives)
 *   pmstatus:<package>:<percent>:<message>   dpkg at work (`dpkg-exec` while dpkg starts)
 *   pmerror:<package>:<percent>:<message>    dpkg failed on a package
 *   pmconffile:<file>:<percent>:<message>    a configuration file prompt
 *   media-change:<medium>:<drive>:<message>  apt waits for a medium
 *
 * dpkg's own output has no newline before it sometimes (`…95%pmstatus:…`), so a record is
 * found where it starts in the line, not only at its beginning.
 */
export type AptStatus =
  | { readonly kind: 'download'; readonly item: number; readonly percent: number; readonly message: string }
  | { readonly kind: 'package'; readonly package: string; readonly percent: number; readonly message: string }
  | { readonly kind: 'error'; readonly package: string; readonly percent: number; readonly message: string }
  | { readonly kind: 'conffile'; readonly file: string; readonly percent: number; readonly message: string }
  | { readonly kind: 'media-change'; readonly message: string };

const RECORD = /(dlstatus|pmstatus|pmerror|pmconffile|media-change):([^:\n]*):([^:\n]*):([^\n]*)$/;

export function parseAptStatusLine(line: string): AptStatus | undefined {
  const m = RECORD.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const [, tag, first = '', second = '', message = ''] = m;
  const percent = Number(second);
  if (tag === 'media-change') return { kind: 'media-change', message };
  if (!Number.isFinite(percent)) return undefined;
  const pct = Math.min(100, Math.max(0, percent));
  switch (tag) {
    case 'dlstatus': {
      const item = Number(first);
      return Number.isInteger(item) ? { kind: 'download', item, percent: pct, message } : undefined;
    }
    case 'pmstatus':
      return { kind: 'package', package: first, percent: pct, message };
    case 'pmerror':
      return { kind: 'error', package: first, percent: pct, message };
    default:
      return { kind: 'conffile', file: first, percent: pct, message };
  }
}

/** Whether a line of stderr carries an apt status record (left out of error excerpts). */
export function isAptStatusLine(line: string): boolean {
  return RECORD.test(line);
}

/** What the operator sees for a record: apt's own words, a phase, and its percentage. */
export function describeAptStatus(s: AptStatus): { readonly message: string; readonly percent?: number } {
  switch (s.kind) {
    case 'download':
      return { message: `apt: downloading, ${s.message.toLowerCase()}`, percent: s.percent };
    case 'package':
      return { message: `apt: ${s.message.replace(/ \([a-z0-9]+\)$/, '')}`, percent: s.percent };
    case 'error':
      return { message: `apt: error on ${s.package}: ${s.message}`, percent: s.percent };
    case 'conffile':
      return { message: `apt: configuration file ${s.file} changed upstream (kept the local one)`, percent: s.percent };
    case 'media-change':
      return { message: `apt: waits for a medium: ${s.message}` };
  }
}

/** Cuts a stream of chunks into whole lines (a chunk can end mid-line). */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  };
}
