import { inspect } from 'node:util';

const MASK = '***';
const values = new WeakMap<Secret<unknown>, unknown>();

/**
 * A value that must never be printed. Every ordinary way of turning it into text —
 * `String()`, template literals, `JSON.stringify`, `util.inspect`/`console.log`, pino — yields
 * `***`. The only way to the value is an explicit `reveal()`, which is easy to grep for.
 * The value lives in a module-private WeakMap, so not even enumerating the object finds it.
 */
export class Secret<T = string> {
  constructor(value: T) {
    values.set(this, value);
    Object.freeze(this);
  }

  /** The plaintext. Call it only where the value leaves the process on purpose. */
  reveal(): T {
    return values.get(this) as T;
  }

  map<U>(fn: (value: T) => U): Secret<U> {
    return new Secret(fn(this.reveal()));
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [Symbol.toPrimitive](): string {
    return MASK;
  }

  [inspect.custom](): string {
    return `Secret(${MASK})`;
  }
}

export const SECRET_MASK = MASK;

export function isSecret(value: unknown): value is Secret<unknown> {
  return value instanceof Secret;
}

/** Replace every occurrence of each secret's text in `text` by `***` (for logs from remote commands). */
export function redact(text: string, secrets: Iterable<Secret<string>>): string {
  let out = text;
  for (const s of secrets) {
    const v = s.reveal();
    if (v.length >= 4) out = out.split(v).join(MASK);
  }
  return out;
}
