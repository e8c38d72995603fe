/** PVE property strings (`virtio=BC:…,bridge=vmbr0,tag=10`) to ordered maps and back. */
export function parseProps(text: string | undefined, defaultKey?: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!text) return out;
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (defaultKey) out.set(defaultKey, part);
      continue;
    }
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export function formatProps(entries: Iterable<readonly [string, string | undefined]>): string {
  const parts: string[] = [];
  for (const [k, v] of entries) if (v !== undefined) parts.push(k === '' ? v : `${k}=${v}`);
  return parts.join(',');
}

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `16G` → bytes; bare numbers are bytes. */
export function parsePveSize(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1));
}

/** Bytes → the largest whole PVE unit (`16G`, `512M`). */
export function formatPveSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K'] as const) if (bytes % UNITS[u]! === 0) return `${bytes / UNITS[u]!}${u}`;
  return String(bytes);
}

export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 2 ** 30 && abs % 2 ** 28 === 0) return `${bytes / 2 ** 30}GiB`;
  if (abs >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)}MiB`;
  return `${bytes}B`;
}
