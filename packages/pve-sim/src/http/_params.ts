import { RawHttpError } from './_errors.js';
import { utf8FromBytes } from '../util/_list.js';

/** A parameter value as PVE's request parser yields it before schema normalisation. */
export type RawValue = string | number | boolean | null | RawValue[] | { [k: string]: RawValue };
export type RawParams = Record<string, RawValue>;

function percentDecode(s: string): string {
  return s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * pve-http-server's `decode_urlencoded`, quirks included: pairs split on `&` AND `;`, each
 * pair split on every `=` keeping only the first two fields (so `a=b=c` yields `b`), an empty
 * value counts as absent (Perl's split drops trailing empty fields), repeated keys become
 * arrays, values are UTF-8 decoded but keys are not.
 */
export function decodeUrlencoded(data: string): RawParams {
  const res: RawParams = {};
  if (!data) return res;
  for (const kv of data.split(/[&;]/)) {
    if (kv === '') continue;
    const fields = kv.split('=');
    while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
    if (fields.length === 0) continue;
    const k = percentDecode(fields[0] ?? '');
    const rawV = fields[1];
    if (rawV === undefined) {
      res[k] = null;
      continue;
    }
    const v = utf8FromBytes(percentDecode(rawV));
    const old = res[k];
    if (old !== undefined && old !== null) res[k] = Array.isArray(old) ? [...old, v] : [old, v];
    else res[k] = v;
  }
  return res;
}

/** Media type of a Content-Type header, lower-cased, parameters dropped. */
export function mediaType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return header.split(';')[0]?.trim().toLowerCase() || undefined;
}

/**
 * `extract_params`: JSON or form body for PUT/POST, then the query string merged over it.
 */
export function extractParams(method: string, contentType: string | undefined, body: string, query: string): RawParams {
  let params: RawParams = {};
  if (method === 'PUT' || method === 'POST') {
    if (mediaType(contentType) === 'application/json') {
      if (body.length > 0) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch (err) {
          throw new RawHttpError(500, `malformed JSON string: ${(err as Error).message}`);
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new RawHttpError(500, 'JSON request body must be an object');
        }
        params = parsed as RawParams;
      }
    } else {
      params = decodeUrlencoded(body);
    }
  }
  const q = decodeUrlencoded(query);
  for (const [k, v] of Object.entries(q)) params[k] = v;
  delete params['_dc'];
  return params;
}
