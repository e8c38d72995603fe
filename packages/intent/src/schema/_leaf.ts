import { z } from 'zod';
import { checkDuration, checkSize, DURATION_HINT, SIZE_HINT } from '../units.js';
import { suggestion } from '../_suggest.js';

/**
 * Leaf types shared by the site and persona schemas. Every message is written for a person:
 * `expected <what> like <example>, got <value>`, optionally followed by a newline and the
 * hint, which the diagnostic converter splits off (zod issues carry one message string).
 */

export function msg(summary: string, hint?: string): string {
  return hint === undefined ? summary : `${summary}\n${hint}`;
}

/** How a value reads in a message: strings quoted, containers named. */
export function got(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

/** A string matching `re`, described as `noun` with an example, for both messages and JSON Schema. */
export function pattern(re: RegExp, noun: string, example: string, hint?: string) {
  return z
    .string({ error: (iss) => msg(`expected ${noun} like ${JSON.stringify(example)}, got ${got(iss.input)}`, hint) })
    .regex(re, { error: (iss) => msg(`expected ${noun} like ${JSON.stringify(example)}, got ${got(iss.input)}`, hint) })
    .meta({ examples: [example] });
}

export function text(noun = 'a string') {
  return z.string({
    error: (iss) =>
      msg(
        `expected ${noun}, got ${got(iss.input)}`,
        typeof iss.input === 'number' || typeof iss.input === 'boolean'
          ? `YAML read this as a ${typeof iss.input}; quote it: "${String(iss.input)}"`
          : undefined,
      ),
  });
}

export function nonEmpty(noun = 'a string') {
  return text(noun).min(1, { error: () => `expected ${noun}, got an empty string` });
}

export function bool() {
  return z.boolean({ error: (iss) => msg(`expected true or false, got ${got(iss.input)}`) });
}

export function int(min: number, max: number, noun = 'a whole number') {
  return z
    .number({ error: (iss) => msg(`expected ${noun}, got ${got(iss.input)}`) })
    .int({ error: (iss) => `expected ${noun}, got ${got(iss.input)}` })
    .min(min, { error: (iss) => `must be at least ${min}, got ${got(iss.input)}` })
    .max(max, { error: (iss) => `must be at most ${max}, got ${got(iss.input)}` });
}

/** A closed set; a near miss gets a "did you mean". */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) =>
      msg(
        `expected one of ${values.map((v) => `"${v}"`).join(', ')}, got ${got(iss.input)}`,
        typeof iss.input === 'string' ? suggestion(iss.input, values, 'allowed values') : undefined,
      ),
  });
}

interface SizeOptions {
  readonly min?: number;
  readonly minHint?: string;
}

/** `8GiB`, `32G`, `512M`, or a number of bytes → bytes. */
export function size(options: SizeOptions = {}) {
  const bad = (iss: { input?: unknown }): string => {
    const r = checkSize(iss.input);
    return typeof r === 'number' ? msg(`expected a size like "8GiB", got ${got(iss.input)}`, SIZE_HINT) : msg(r.summary, r.hint);
  };
  return z
    .union([z.number(), z.string().regex(/^\s*\d+(?:\.\d+)?\s*(?:[KMGTPkmgtp](?:i?[Bb]?|I[Bb]?)?|[Bb])?\s*$/, { error: bad })], { error: bad })
    .meta({ examples: ['8GiB'] })
    .transform((value, ctx) => {
      const r = checkSize(value);
      if (typeof r !== 'number') {
        ctx.addIssue({ code: 'custom', message: msg(r.summary, r.hint), input: value });
        return z.NEVER;
      }
      if (options.min !== undefined && r < options.min) {
        ctx.addIssue({
          code: 'custom',
          message: msg(`must be at least ${options.min} bytes, got ${got(value)} (${r} bytes)`, options.minHint),
          input: value,
        });
        return z.NEVER;
      }
      return r;
    })
    .meta({ title: 'size' });
}

/** `90s`, `5m`, `2h`, `7d`, `1h30m`, or a number of seconds → seconds. */
export function duration() {
  const bad = (iss: { input?: unknown }): string => {
    const r = checkDuration(iss.input);
    return typeof r === 'number' ? msg(`expected a duration like "5m", got ${got(iss.input)}`, DURATION_HINT) : msg(r.summary, r.hint);
  };
  return z
    .union([z.number(), z.string().regex(/^\s*(?:\d+|(?:\d+[smhdw])+)\s*$/, { error: bad })], { error: bad })
    .meta({ examples: ['5m'] })
    .transform((value, ctx) => {
      const r = checkDuration(value);
      if (typeof r !== 'number') {
        ctx.addIssue({ code: 'custom', message: msg(r.summary, r.hint), input: value });
        return z.NEVER;
      }
      return r;
    })
    .meta({ title: 'duration' });
}

export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function dnsLabel(example: string) {
  return pattern(
    DNS_LABEL,
    'a DNS label',
    example,
    'use lowercase letters, digits and "-", at most 63 characters, not starting or ending with "-"',
  );
}

/** A name used as a key: users, groups, stacks, storages. */
export function name(example: string) {
  return pattern(/^[a-z_][a-z0-9_.-]{0,63}$/, 'a name', example, 'lowercase letters, digits, "_", "." and "-", starting with a letter or "_"');
}

/** A user or group: a name, or a numeric id for accounts that only exist inside containers. */
export function owner(example: string) {
  return pattern(/^(?:[a-z_][a-z0-9_.-]{0,63}|\d{1,10})$/, 'a user or group name or numeric id', example);
}

export function absPath(example: string) {
  return pattern(/^\/(?!.*(?:^|\/)\.\.(?:\/|$)).*$/, 'an absolute path', example, 'paths inside the guest start with "/" and do not contain ".."');
}

export function relPath(example: string) {
  return pattern(
    /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\0]+$/,
    'a relative path',
    example,
    'paths are relative to the file that declares them and may not contain ".."',
  );
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
export const IPV4_RE = new RegExp(`^${IPV4}$`);
export const CIDR4_RE = new RegExp(`^${IPV4}/(?:3[0-2]|[12]?\\d)$`);

export function ipv4(example = '10.0.10.1') {
  return pattern(IPV4_RE, 'an IPv4 address', example);
}

export function cidr4(example = '10.0.10.0/24') {
  return pattern(CIDR4_RE, 'an IPv4 address with prefix length', example);
}

export function host(example: string) {
  return pattern(
    new RegExp(`^(?:${IPV4}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*)$`),
    'a host name or IPv4 address',
    example,
  );
}

export function port() {
  return int(1, 65_535, 'a TCP/UDP port (1-65535)');
}

export function httpUrl(example: string) {
  return pattern(/^https?:\/\/[^\s/$.?#][^\s]*$/, 'an http(s) URL', example);
}

/** File modes are strings: YAML 1.2 reads an unquoted 0644 as the decimal number 644. */
export function fileMode(example: string) {
  return z
    .string({
      error: (iss) =>
        msg(
          `expected a quoted octal file mode like "${example}", got ${got(iss.input)}`,
          typeof iss.input === 'number' ? `YAML reads an unquoted 0644 as the decimal 644; quote it: mode: "${example}"` : undefined,
        ),
    })
    .regex(/^0?[0-7]{3,4}$/, { error: (iss) => `expected an octal file mode like "${example}", got ${got(iss.input)}` })
    .meta({ examples: [example] });
}

/** Free-form scalar values (template variables, sysctl values). */
export function scalar() {
  return z.union([z.string(), z.number(), z.boolean()], {
    error: (iss) => `expected a string, number or boolean, got ${got(iss.input)}`,
  });
}

/** systemd.time(7) calendar events: `daily`, `Sun 03:00`, `*-*-* 02:30:00`. */
export function calendar(example: string) {
  return pattern(
    /^(?:minutely|hourly|daily|weekly|monthly|yearly|annually|quarterly|semiannually|[A-Za-z0-9*:/,.~ +-]+)$/,
    'a systemd calendar event',
    example,
    'see systemd.time(7): "daily", "Sun 03:00", "*-*-* 02:30"; check one with `systemd-analyze calendar "<expr>"`',
  );
}

/** A strict object: unknown keys are errors (the converter adds "did you mean"). */
export function obj<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'invalid_type' ? msg(`expected a map of key: value, got ${got(iss.input)}`) : undefined),
  });
}
