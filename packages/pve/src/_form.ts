/** A parameter value as callers pass it; `undefined`/`null` mean "not sent". */
export type ParamValue = string | number | boolean | readonly (string | number)[] | null | undefined;
export type Params = Readonly<Record<string, ParamValue>>;

/**
 * Parameters as PVE's parser needs them. PVE splits form pairs on `&` **and** `;` and cuts a
 * value at its second `=` (pve-api.md §1, §7.11), so every value is percent-encoded by
 * URLSearchParams — `boot=order%3Dscsi0%3Bnet0` arrives intact. Top-level booleans must be
 * `1`/`0` (`true` is rejected), arrays become repeated keys, absent values are left out.
 */
export function encodeParams(params: Params | undefined): URLSearchParams {
  const out = new URLSearchParams();
  if (!params) return out;
  for (const key of Object.keys(params).sort()) {
    const v = params[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'boolean') out.append(key, v ? '1' : '0');
    else if (Array.isArray(v)) for (const item of v as readonly (string | number)[]) out.append(key, String(item));
    else out.append(key, String(v));
  }
  return out;
}

/** `/nodes/{node}/…` built from segments, each percent-encoded (volume ids may hold `/`). */
export function apiPath(...segments: readonly (string | number)[]): string {
  return `/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

/** Strip the `/api2/json` prefix the proxmox-api proxy adds, so errors name the API path. */
export function relativeApiPath(path: string): string {
  const p = path.startsWith('/api2/json') ? path.slice('/api2/json'.length) : path;
  return p.startsWith('/') ? p : `/${p}`;
}
