import type { RawValue } from '../http/_params.js';
import { checkNamedFormat, lookupPropertyFormat } from './_formats.js';
import type { ObjectSchema, PropSchema } from './_types.js';
import { parsePropertyString } from './property-string.js';

export type Errors = Record<string, string>;

function addError(errors: Errors, path: string, msg: string): void {
  const p = path || '_root';
  // PVE joins with a literal backslash-n (single-quoted Perl string), not a newline.
  errors[p] = errors[p] === undefined ? msg : `${errors[p]}\\n${msg}`;
}

export function isNumberLike(value: string): boolean {
  return /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(value);
}

function refName(value: RawValue): string | undefined {
  if (Array.isArray(value)) return 'ARRAY';
  if (value !== null && typeof value === 'object') return 'HASH';
  if (typeof value === 'boolean') return 'JSON::PP::Boolean';
  return undefined;
}

function scalarText(value: RawValue): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function checkType(path: string, type: PropSchema['type'], value: RawValue, errors: Errors): boolean {
  if (!type) return true;
  const ref = refName(value);
  if (type === 'array') {
    if (ref !== 'ARRAY') {
      addError(errors, path, `type check ('${type}') failed`);
      return false;
    }
    return true;
  }
  if (type === 'object') {
    if (ref !== 'HASH') {
      addError(errors, path, `type check ('${type}') failed`);
      return false;
    }
    return true;
  }
  if (ref) {
    if (type === 'boolean' && typeof value === 'boolean') return true;
    if (typeof value === 'boolean' && type === 'string') return true;
    addError(errors, path, `type check ('${type}') failed - got ${ref}`);
    return false;
  }
  const text = scalarText(value);
  if (type === 'boolean') {
    if (text === '1' || text === '0') return true;
    addError(errors, path, `type check ('${type}') failed - got '${text}'`);
    return false;
  }
  if (type === 'integer') {
    if (/^[+-]?\d+$/.test(text)) return true;
    addError(errors, path, `type check ('${type}') failed - got '${text}'`);
    return false;
  }
  if (type === 'number') {
    if (isNumberLike(text)) return true;
    addError(errors, path, `type check ('${type}') failed - got '${text}'`);
    return false;
  }
  return true;
}

/** `check_prop`: missing, type, format, pattern, length, range, enum — first failure wins. */
export function checkProp(value: RawValue | undefined, schema: PropSchema, path: string, errors: Errors): void {
  if (value === undefined || value === null) {
    if (schema.type === 'null') return;
    if (!schema.optional && !schema.alias) addError(errors, path, 'property is missing and it is not optional');
    return;
  }
  if (!checkType(path, schema.type, value, errors)) return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((el, i) => checkProp(el, schema.items!, `${path}[${i}]`, errors));
    return;
  }
  if (typeof value === 'object' && value !== null && typeof value !== 'boolean') return;
  const text = scalarText(value);
  if (schema.format !== undefined) {
    try {
      const fmt = typeof schema.format === 'string' ? (lookupPropertyFormat(schema.format) ?? schema.format) : schema.format;
      if (typeof fmt === 'string') checkNamedFormat(fmt, text);
      else parsePropertyString(fmt, text, path);
    } catch (err) {
      addError(errors, path, `invalid format - ${formatFailure(err)}`);
      return;
    }
  }
  if (schema.pattern && !new RegExp(`^(?:${schema.pattern.source})$`, schema.pattern.flags).test(text)) {
    addError(errors, path, 'value does not match the regex pattern');
    return;
  }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return;
  }
  if (schema.minLength !== undefined && text.length < schema.minLength) {
    addError(errors, path, `value must be at least ${schema.minLength} characters long`);
    return;
  }
  if (isNumberLike(text)) {
    if (schema.maximum !== undefined && Number(text) > schema.maximum) {
      addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
      return;
    }
    if (schema.minimum !== undefined && Number(text) < schema.minimum) {
      addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(text)) {
    addError(errors, path, `value '${text}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
  }
}

/** PVE stringifies a nested exception as its message plus one `path: msg` line per error. */
function formatFailure(err: unknown): string {
  if (err instanceof PropertyStringError) {
    let msg = err.message;
    for (const [k, v] of Object.entries(err.errors)) msg += `${k}: ${v}\n`;
    return msg;
  }
  return err instanceof Error ? err.message : String(err);
}

export class PropertyStringError extends Error {
  constructor(
    message: string,
    readonly errors: Errors,
  ) {
    super(message);
  }
}

/** `check_object` without additional properties. */
export function checkObject(
  path: string,
  schema: ObjectSchema,
  value: Record<string, RawValue>,
  errors: Errors,
  additionalProperties = false,
): void {
  for (const [k, sub] of Object.entries(schema)) {
    checkProp(value[k], sub, path ? `${path}.${k}` : k, errors);
  }
  for (const k of Object.keys(value)) {
    const newpath = path ? `${path}.${k}` : k;
    const sub = schema[k];
    if (sub) {
      if (sub.requires && (value[sub.requires] === undefined || value[sub.requires] === null)) {
        addError(errors, path ? `${path}.${sub.requires}` : sub.requires, `missing property - '${newpath}' requires this property`);
      }
      continue;
    }
    if (!additionalProperties) {
      addError(errors, newpath, 'property is not defined in schema and the schema does not allow additional properties');
    }
  }
}
