import type { PropertyFormat, PropSchema } from './_types.js';
import { checkObject, PropertyStringError, type Errors } from './_validate.js';
import { formatSize, parseSize } from '../util/_size.js';

export type PropertyValues = Record<string, string>;

function parseBoolean(v: string): string | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return '1';
  if (/^(0|off|no|false)$/i.test(v)) return '0';
  return undefined;
}

function defaultKeyOf(format: PropertyFormat): string | undefined {
  for (const [k, s] of Object.entries(format)) if (s.defaultKey) return k;
  return undefined;
}

/**
 * `parse_property_string`: `[default=]value,key=value,…`. Booleans accept on/yes/true and are
 * normalised to `1`/`0`; aliases resolve (`volume` → `file`, `virtio=MAC` → model + macaddr);
 * unknown keys and bad values raise PVE's `format error` with per-key errors.
 */
export function parsePropertyString(format: PropertyFormat, data: string, path = ''): PropertyValues {
  const res: PropertyValues = {};
  let defaultKey: string | undefined;
  for (const part of data.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/s.exec(part);
    if (kv) {
      let k = kv[1]!;
      let v = kv[2]!;
      if (res[k] !== undefined) throw new Error(`duplicate key in comma-separated list property: ${k}\n`);
      let schema: PropSchema | undefined = format[k];
      if (schema?.alias) {
        if (schema.keyAlias) {
          if (res[schema.keyAlias] !== undefined) throw new Error(`key alias '${schema.keyAlias}' is already defined\n`);
          res[schema.keyAlias] = k;
        }
        k = schema.alias;
        schema = format[k];
      }
      if (!schema) throw new Error(`invalid key in comma-separated list property: ${k}\n`);
      if (schema.type === 'boolean') v = parseBoolean(v) ?? v;
      res[k] = v;
    } else if (!part.includes('=')) {
      if (defaultKey) throw new Error(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      defaultKey = defaultKeyOf(format);
      if (!defaultKey) throw new Error('value without key, but schema does not define a default key\n');
      if (res[defaultKey]) throw new Error(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      res[defaultKey] = part;
    } else {
      throw new Error('missing key in comma-separated list property\n');
    }
  }
  const errors: Errors = {};
  checkObject(path, format, res, errors);
  if (Object.keys(errors).length > 0) throw new PropertyStringError('format error\n', errors);
  return res;
}

/** Parse, returning undefined instead of throwing (PVE's `eval { parse… }`). */
export function tryParsePropertyString(format: PropertyFormat, data: string): PropertyValues | undefined {
  try {
    return parsePropertyString(format, data);
  } catch {
    return undefined;
  }
}

/**
 * `print_property_string`: default key first (combined with its key alias as `model=mac`),
 * then required keys, then optional keys, each group sorted; `disk-size` values formatted.
 */
export function printPropertyString(data: PropertyValues, format: PropertyFormat, skip: readonly string[] = []): string {
  const parts: string[] = [];
  const done = new Set(skip);
  const defaultKey = defaultKeyOf(format);
  const keyAliasProps: Record<string, string> = {};
  for (const s of Object.values(format)) if (s.keyAlias && s.alias) keyAliasProps[s.keyAlias] = s.alias;

  const fmtValue = (key: string, value: string, schema: PropSchema | undefined): string => {
    if (schema?.format === 'disk-size') return formatSize(parseSize(value) ?? 0);
    if (value.includes(',')) throw new Error(`illegal value with commas for ${key}\n`);
    return value;
  };

  const add = (key: string, isDefault: boolean): void => {
    if (done.has(key)) return;
    done.add(key);
    const value = data[key];
    if (value === undefined) return;
    const combine = keyAliasProps[key];
    if (combine !== undefined) {
      const cv = data[combine];
      if (cv !== undefined) {
        parts.push(`${fmtValue(key, value, format[key])}=${fmtValue(combine, cv, format[combine])}`);
        done.add(combine);
        return;
      }
    }
    let schema = format[key];
    if (schema?.alias) schema = format[schema.alias];
    if (!schema) throw new Error(`invalid key '${key}'\n`);
    const text = fmtValue(key, value, schema);
    parts.push(isDefault ? text : `${key}=${text}`);
  };

  if (defaultKey !== undefined) add(defaultKey, true);
  const keys = Object.keys(data).sort();
  for (const k of keys) if (format[k] && !format[k]!.optional) add(k, false);
  for (const k of keys) add(k, false);
  return parts.join(',');
}
