/** PVE's `split_list`: separators are `,`, `;` and whitespace; empty items dropped. */
export function splitList(text: string | undefined): string[] {
  if (!text) return [];
  if (text.includes('\0')) return text.split('\0');
  return text
    .replace(/[,;]/g, ' ')
    .trim()
    .split(/\s+/)
    .filter((s) => s.length > 0);
}

/** Perl's `uri_unescape`: `%XX` decoded; anything malformed left as is. */
export function uriUnescape(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Decode a latin1-decoded byte string as UTF-8 when it is valid UTF-8 (Perl `Encode::decode`). */
export function utf8FromBytes(bytes: string): string {
  const buf = Buffer.from(bytes, 'latin1');
  return buf.toString('utf8');
}

/** Compare case-insensitively the way Perl's `sort { lc($a) cmp lc($b) }` does. */
export function compareCaseless(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  return la < lb ? -1 : la > lb ? 1 : 0;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
