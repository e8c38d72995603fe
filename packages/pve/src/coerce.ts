/**
 * Lenient readers for PVE's JSON, where the type of a value depends on the endpoint and the
 * version: `memory` is a string since PVE 8.1, `nextid` is a string, floats come as strings,
 * booleans as `0`/`1` (pve-api.md §6.8). Read every field through these; never trust the
 * static types of a response.
 */

/** A number from `2`, `"2"`, `"1.5"`; undefined for anything else (including `""`). */
export function pveNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** An integer, or undefined when the value is not one. */
export function pveInt(value: unknown): number | undefined {
  const n = pveNumber(value);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** `1`, `"1"`, `true`, `"yes"`, `"on"` → true; `0`, `"0"`, `false`, `"no"`, `"off"` → false. */
export function pveBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
  }
  return undefined;
}

/** A string, or the decimal text of a number; undefined otherwise. */
export function pveString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A PVE list value: `"a,b"`, `"a;b"`, `"a b"` or an array → trimmed, non-empty items. */
export function pveList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter(Boolean);
  if (typeof value === 'string') return value.split(/[,; ]+/).map((s) => s.trim()).filter(Boolean);
  return [];
}

/** An object's own fields, or an empty object when the value is not a plain object. */
export function pveRecord(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** An array, or an empty one. */
export function pveArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
