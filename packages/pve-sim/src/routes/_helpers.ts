import type { Params } from '../http/_router.js';

/** The string value of a validated parameter (arrays: first element). */
export function p(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v[0];
}

export function pInt(params: Params, key: string): number | undefined {
  const v = p(params, key);
  return v === undefined ? undefined : Number.parseInt(v, 10);
}

/** Boolean parameter: validated values are `1` or `0`. */
export function pBool(params: Params, key: string): boolean | undefined {
  const v = p(params, key);
  return v === undefined ? undefined : v === '1';
}

export function req(params: Params, key: string): string {
  const v = p(params, key);
  if (v === undefined) throw new Error(`internal error: missing parameter '${key}'`);
  return v;
}

export function bool01(v: boolean | undefined): 0 | 1 {
  return v ? 1 : 0;
}
