/**
 * Human units in intent files. Sizes follow Proxmox: `K`, `M`, `G`, `T`, `P` are binary
 * (1G = 1GiB = 2^30 bytes), so `32G` in a persona means what it means in `qm set`. Decimal
 * `GB`/`MB` are rejected rather than guessed, because a disk 7% smaller than intended is
 * the kind of surprise that only shows up when the disk is full.
 */

const BINARY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  K: 2 ** 10,
  KI: 2 ** 10,
  KIB: 2 ** 10,
  M: 2 ** 20,
  MI: 2 ** 20,
  MIB: 2 ** 20,
  G: 2 ** 30,
  GI: 2 ** 30,
  GIB: 2 ** 30,
  T: 2 ** 40,
  TI: 2 ** 40,
  TIB: 2 ** 40,
  P: 2 ** 50,
  PI: 2 ** 50,
  PIB: 2 ** 50,
};

const DECIMAL_UNITS = new Set(['KB', 'MB', 'GB', 'TB', 'PB']);

const SIZE = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/;

/** Why a size or duration did not parse; `hint` names the fix. */
export interface UnitProblem {
  readonly summary: string;
  readonly hint: string;
}

export const SIZE_HINT =
  'write a number and a binary unit: 512M, 8G or 8GiB, 2T (Proxmox units: 1G = 1GiB); a bare number is bytes';

export const DURATION_HINT = 'write a number and a unit: 90s, 5m, 2h, 7d, 2w, or combined like 1h30m; a bare number is seconds';

/** How a value reads in a message; the same words as the schema's `got` (a map, a list, nothing). */
function show(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

/** Parse a size to bytes, or explain why not. */
export function checkSize(value: unknown): number | UnitProblem {
  const bad = (extra?: string): UnitProblem => ({
    summary: `expected a size like "8GiB", got ${show(value)}`,
    hint: extra ?? SIZE_HINT,
  });
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : bad('a bare number is a whole number of bytes; use a unit for anything else, e.g. 1.5G');
  }
  if (typeof value !== 'string') return bad();
  const m = SIZE.exec(value.trim());
  if (!m) return bad();
  const unit = (m[2] ?? '').toUpperCase();
  if (DECIMAL_UNITS.has(unit)) {
    return bad(`"${m[2]}" is ambiguous (decimal or binary?); write ${m[1]}${unit[0]} or ${m[1]}${unit[0]}iB, which Proxmox reads as binary`);
  }
  const factor = Object.hasOwn(BINARY_UNITS, unit) ? BINARY_UNITS[unit] : undefined;
  if (factor === undefined) return bad();
  const bytes = Number(m[1]) * factor;
  if (!Number.isSafeInteger(bytes)) {
    return bad(Number.isFinite(bytes) && bytes < Number.MAX_SAFE_INTEGER ? 'the size must be a whole number of bytes' : 'the size is too large');
  }
  return bytes;
}

/** `8GiB` → 8589934592. Throws a TypeError on a bad value (use the schema for user input). */
export function parseSize(value: string | number): number {
  const r = checkSize(value);
  if (typeof r === 'number') return r;
  throw new TypeError(r.summary);
}

const UNIT_NAMES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 8589934592 → `8GiB`; 1610612736 → `1.5GiB`. Up to two decimals, trailing zeros dropped. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new TypeError(`not a size in bytes: ${bytes}`);
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < UNIT_NAMES.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
  return `${text}${UNIT_NAMES[unit]}`;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION = /^(?:\d+[smhdw])+$/;
const DURATION_PART = /(\d+)([smhdw])/g;

/** Parse a duration to seconds, or explain why not. */
export function checkDuration(value: unknown): number | UnitProblem {
  const bad = (): UnitProblem => ({ summary: `expected a duration like "5m", got ${show(value)}`, hint: DURATION_HINT });
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : bad();
  if (typeof value !== 'string') return bad();
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!DURATION.test(text)) return bad();
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(DURATION_PART)) seconds += Number(n) * (DURATION_UNITS[unit as string] ?? 0);
  return Number.isSafeInteger(seconds) ? seconds : bad();
}

/** `90s` → 90, `2h` → 7200, `1h30m` → 5400. Throws a TypeError on a bad value. */
export function parseDuration(value: string | number): number {
  const r = checkDuration(value);
  if (typeof r === 'number') return r;
  throw new TypeError(r.summary);
}

/** 5400 → `1h30m`; 0 → `0s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new TypeError(`not a duration in seconds: ${seconds}`);
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
