import type { PveError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts including the first. Default 4. */
  readonly attempts: number;
  /** Delay before the second attempt; doubles each time. Default 1000 ms (BPG's base). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 15_000 };

/**
 * Is this a failure that may go away by itself (pve-api.md §7.1)? HTTP ≥ 500 except 501,
 * flock contention (`got timeout`), fork failure (`got no worker upid`), proxy errors
 * (595/596/599) and a connection that never produced an answer.
 */
export function isTransient(error: PveError): boolean {
  const call = error.call;
  if (error.code === 'LAB_PVE_TLS_PIN' || error.code === 'LAB_PVE_CONFIG') return false;
  if (call?.status === undefined) return error.code === 'LAB_PVE_UNREACHABLE' || error.code === 'LAB_PVE_TIMEOUT';
  const msg = call.message ?? '';
  if (/got timeout|got no worker upid/.test(msg)) return true;
  // A 500 that names a missing or existing object, a held VM lock or a refusal is an answer, not a hiccup.
  if (FINAL.has(error.code)) return false;
  return call.status >= 500 && call.status !== 501;
}

const FINAL = new Set(['LAB_PVE_NOT_FOUND', 'LAB_PVE_CONFLICT', 'LAB_PVE_PERMISSION', 'LAB_PVE_AUTH', 'LAB_PVE_INVALID', 'LAB_PVE_LOCKED', 'LAB_PVE_UNSUPPORTED']);

/**
 * May a call that failed this way be sent again without knowing whether it acted? Only when
 * PVE demonstrably refused it before doing anything: the config/storage flock was not
 * obtained, the worker was not forked, the proxy could not connect to the node (595), or the
 * connection failed before the request was written. Any other failure of a POST may have
 * created something, so it is never retried blindly (§7.1) — callers pass an already-done
 * check instead (`mutate`).
 */
export function isSafeToResend(error: PveError): boolean {
  const call = error.call;
  if (call?.mayHaveActed === false) return true;
  const msg = call?.message ?? '';
  if (/got timeout|got no worker upid/.test(msg)) return true;
  return call?.status === 595;
}

/** Delay before attempt `n` (1-based, n ≥ 2). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 2));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
