import { createHash } from 'node:crypto';

/**
 * A read-only probe of the guest: a shell fragment, a parser of its output, and the value to
 * assume before anything was gathered. Fragments must not change anything: check mode runs
 * exactly these and nothing else. `volatile` facts (clocks, cache ages) are left out of the
 * plan basis so that a saved plan is not called stale merely because time passed.
 */
/** Fact families whose probes are run once for all their members in a gather (see gather.ts). */
export type BatchKind = 'path' | 'unit';

export interface Fact<T> {
  readonly name: string;
  /** Distinguishes instances of one fact (a path, a unit name); part of the key. */
  readonly arg?: string;
  /** Bash fragment run as a function body: it ends with `return <code>`, never `exit`. */
  readonly command: string;
  parse(stdout: string, exitCode: number): T;
  readonly empty: T;
  readonly volatile?: boolean;
  /**
   * In a batch, `command` is replaced by this fragment, which prints exactly the same output
   * from a probe shared by every fact of `kind` (one `stat` for all paths, one `systemctl show`
   * for all units) instead of its own processes: the parser and fixtures are the same.
   */
  readonly batched?: { readonly kind: BatchKind; readonly arg: string; readonly command: string };
}

/** `name` or `name[arg]`: how facts are keyed in a FactSet and in JSON fixtures. */
export function factKey(fact: Pick<Fact<unknown>, 'name' | 'arg'>): string {
  return fact.arg === undefined ? fact.name : `${fact.name}[${fact.arg}]`;
}

/**
 * The facts known about one host. Immutable: `with` returns a copy with some values replaced,
 * which is how planning projects the effect of an earlier operation onto later ones.
 */
export class FactSet {
  private readonly values: ReadonlyMap<string, unknown>;
  private readonly volatileKeys: ReadonlySet<string>;

  constructor(values: ReadonlyMap<string, unknown> = new Map(), volatileKeys: ReadonlySet<string> = new Set()) {
    this.values = values;
    this.volatileKeys = volatileKeys;
  }

  static fromRecord(record: Readonly<Record<string, unknown>>): FactSet {
    return new FactSet(new Map(Object.entries(record)));
  }

  has(fact: Fact<unknown>): boolean {
    return this.values.has(factKey(fact));
  }

  /** The gathered value; a fact nobody gathered is a programming error in an operation. */
  get<T>(fact: Fact<T>): T {
    const key = factKey(fact);
    if (!this.values.has(key)) throw new Error(`fact ${key} was not gathered; the operation must list it in its facts`);
    return this.values.get(key) as T;
  }

  with(entries: Iterable<readonly [Fact<unknown>, unknown]>): FactSet {
    const next = new Map(this.values);
    const vol = new Set(this.volatileKeys);
    for (const [fact, value] of entries) {
      next.set(factKey(fact), value);
      if (fact.volatile) vol.add(factKey(fact));
    }
    return new FactSet(next, vol);
  }

  merge(other: FactSet): FactSet {
    const next = new Map(this.values);
    for (const [k, v] of other.values) next.set(k, v);
    return new FactSet(next, new Set([...this.volatileKeys, ...other.volatileKeys]));
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  toRecord(): Record<string, unknown> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** sha256 of every non-volatile fact, stable across key order: the plan's basis. */
  digest(): string {
    const stable = [...this.values.entries()]
      .filter(([k]) => !this.volatileKeys.has(k))
      .sort(([a], [b]) => a.localeCompare(b));
    return `sha256:${createHash('sha256').update(JSON.stringify(stable)).digest('hex')}`;
  }
}

/** Distinct facts by key, first occurrence wins. */
export function uniqueFacts(facts: Iterable<Fact<unknown>>): Fact<unknown>[] {
  const seen = new Map<string, Fact<unknown>>();
  for (const f of facts) if (!seen.has(factKey(f))) seen.set(factKey(f), f);
  return [...seen.values()];
}
