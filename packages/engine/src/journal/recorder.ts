import { LabError, Secret, toLabError, type Diagnostic, type Plan, type Reporter } from '@lab/core';
import type { SecretStore } from '@lab/secrets';
import type { JournalCommand, JournalRun } from './contract.js';
import type { JournalEntry } from './entry.js';
import { recordRun, type RecordOptions } from './record.js';

export interface RunScope {
  readonly root: string;
  readonly reporter: Reporter;
  readonly personas: readonly string[];
  readonly layers?: readonly string[];
  /** Passed through to recordRun (tests pin the operator and commit). */
  readonly record?: Omit<RecordOptions, 'secrets'>;
}

/**
 * One command run on its way to the journal: it starts the clock, collects every secret the run
 * reads or writes through the session's store (so their text is masked in what is journalled),
 * and records the outcome once. A journal that cannot be written is a warning: the run's own
 * result must not change because the record of it failed.
 */
export interface RunRecorder {
  readonly startedAt: Date;
  /** Route the session's secret store through the recorder (the session object is changed in place). */
  track(session: { secrets(): SecretStore }): void;
  /** The plan the run is applying; its pending changes are journalled with the outcome. */
  usePlan(plan: Plan): void;
  ok(details?: JournalRun['details']): Promise<JournalEntry | undefined>;
  /**
   * Record a failure; `error` undefined means the plan was refused for its errors (the first one
   * is journalled, its changes are not: nothing was applied). Declining to confirm is not a run
   * and is not recorded.
   */
  failed(error?: unknown, details?: JournalRun['details']): Promise<JournalEntry | undefined>;
}

/** Errors that mean the operator declined: nothing was attempted, so there is no run to record. */
const NOT_A_RUN: ReadonlySet<string> = new Set(['LAB_CONFIRM_REQUIRED', 'LAB_APPLY_CANCELLED']);

/** The same store, remembering every value read or written (the store is frozen, so it is wrapped, not patched). */
function tracking(store: SecretStore, seen: Set<Secret<string>>): SecretStore {
  return Object.freeze({
    ...store,
    async get(name: string) {
      const value = await store.get(name);
      seen.add(value);
      return value;
    },
    async set(name: string, value: string | Secret<string>) {
      seen.add(typeof value === 'string' ? new Secret(value) : value);
      return store.set(name, value);
    },
  });
}

/** The first error diagnostic of a plan, as the journal's error. */
export function planError(plan: Plan): { code: string; summary: string } | undefined {
  const d: Diagnostic | undefined = plan.diagnostics.find((x) => x.severity === 'error');
  return d ? { code: d.code, summary: d.summary } : undefined;
}

/**
 * The personas a failure belongs to, from the addresses its error (and the errors it wraps) or
 * the refused plan's error diagnostics point at; empty when it points at none of the run's.
 */
function blamedPersonas(error: LabError | undefined, plan: Plan | undefined, personas: readonly string[]): string[] {
  const addresses: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof LabError && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e.address) addresses.push(e.address);
    for (const d of e.diagnostics) if (d.severity === 'error' && d.address) addresses.push(d.address);
  }
  if (!error && plan) for (const d of plan.diagnostics) if (d.severity === 'error' && d.address) addresses.push(d.address);
  const scopes = new Set(addresses.map((a) => a.slice(0, a.indexOf('/'))));
  return personas.filter((p) => scopes.has(p));
}

export function beginRun(command: JournalCommand, scope: RunScope): RunRecorder {
  const startedAt = new Date();
  const seen = new Set<Secret<string>>();
  let done = false;

  async function write(run: JournalRun): Promise<JournalEntry | undefined> {
    if (done) return undefined;
    done = true;
    try {
      return await recordRun(scope.root, run, { ...scope.record, secrets: seen });
    } catch (error) {
      scope.reporter.emit({ type: 'log', level: 'warn', message: `the journal was not written: ${toLabError(error).summary}` });
      return undefined;
    }
  }

  let plan: Plan | undefined;
  const base = (details: JournalRun['details'] | undefined, attempted = true) => ({
    command,
    personas: scope.personas,
    ...(scope.layers ? { layers: scope.layers } : {}),
    // A plan refused for its errors changed nothing: journal none of its changes.
    ...(plan && attempted ? { plan } : {}),
    ...(details ? { details } : {}),
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
  });

  return {
    startedAt,
    track(session) {
      const original = session.secrets.bind(session);
      let wrapped: SecretStore | undefined;
      Object.assign(session, { secrets: () => (wrapped ??= tracking(original(), seen)) });
    },
    usePlan(p) {
      plan = p;
    },
    ok: (details) => write({ ...base(details), result: 'ok' }),
    async failed(error, details) {
      const e = error === undefined ? undefined : toLabError(error);
      if (e && NOT_A_RUN.has(e.code)) return undefined;
      const reason = e ? { code: e.code, summary: e.summary } : (plan && planError(plan)) || { code: 'LAB_RUN_FAILED', summary: 'the run failed' };
      const blamed = blamedPersonas(e, plan, scope.personas);
      return write({ ...base(blamed.length > 0 ? { ...details, failedPersonas: blamed.join(',') } : details, e !== undefined), result: 'failed', error: reason });
    },
  };
}
