import type { Reporter } from '@lab/core';
import { proxmoxApi, type Proxmox } from 'proxmox-api';
import type { Params } from './_form.js';
import { pveRecord, pveString } from './coerce.js';
import { isPveError, PveError } from './errors.js';
import { backoffDelay, DEFAULT_RETRY, isTransient, sleep, type RetryPolicy } from './retry.js';
import { waitForTask, type TaskResult, type WaitOptions } from './tasks.js';
import { PveTransport, type RequestOptions, type TransportOptions } from './transport.js';
import { parsePveVersion, pveFeatures, type PveFeatures, type PveVersion } from './version.js';

export interface PveClientOptions extends TransportOptions {
  /** Defaults for every task wait of this client (lab.yaml `proxmox.taskSilenceTimeout`). */
  readonly taskWait?: Pick<WaitOptions, 'silenceMs' | 'pollMs' | 'firstPollMs'>;
}

/** Outcome of a non-idempotent call sent with an already-done check. */
export type MutationResult<T> =
  | { readonly status: 'done'; readonly value: T }
  /** A resend failed in a way that proves an earlier attempt acted (e.g. `already exists`). */
  | { readonly status: 'already-done'; readonly error: PveError };

export interface MutateOptions {
  /** Recognises the error a resend gets when an earlier attempt succeeded. */
  readonly alreadyDone: (error: PveError) => boolean;
  readonly timeoutMs?: number;
}

/** For create/clone: a resend that meets `already exists` means the first attempt worked (§7.1). */
export const ALREADY_EXISTS = (error: PveError): boolean => /already exists/.test(error.pveMessage);

/**
 * The Proxmox client every layer uses. `api` is proxmox-api's typed proxy (paths as
 * properties: `api.nodes.$(node).qemu.$get()`); `get/post/put/delete` take a path below
 * `/api2/json`. Reads are retried on transient failures; writes only when PVE provably did
 * nothing, or through `mutate` with an already-done check. Read every field of a response
 * through the `pve*` coercers: PVE's JSON types vary by version.
 */
export interface PveClient {
  /** `https://host:port` */
  readonly origin: string;
  /** Who acts: `user@realm!token` or `user@realm`. */
  readonly principal: string;
  readonly api: Proxmox.Api;
  readonly transport: PveTransport;
  get<T = unknown>(path: string, params?: Params, options?: RequestOptions): Promise<T>;
  post<T = unknown>(path: string, params?: Params, options?: RequestOptions): Promise<T>;
  put<T = unknown>(path: string, params?: Params, options?: RequestOptions): Promise<T>;
  delete<T = unknown>(path: string, params?: Params, options?: RequestOptions): Promise<T>;
  /** A create/clone-like POST, resent on transient failures with an already-done check. */
  mutate<T = unknown>(method: 'POST' | 'PUT' | 'DELETE', path: string, params: Params | undefined, options: MutateOptions): Promise<MutationResult<T>>;
  waitForTask(upid: unknown, options?: WaitOptions): Promise<TaskResult>;
  /** Dispatch a call that returns a UPID and wait for the task. */
  runTask(method: 'POST' | 'PUT' | 'DELETE', path: string, params?: Params, options?: WaitOptions): Promise<TaskResult>;
  /** `GET /version`, read once per client. */
  version(): Promise<PveVersion>;
  features(): Promise<PveFeatures>;
  close(): Promise<void>;
}

export function createPveClient(options: PveClientOptions): PveClient {
  const transport = new PveTransport(options);
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const reporter: Reporter | undefined = options.reporter;
  const waitDefaults: WaitOptions = { ...(reporter ? { reporter } : {}), ...options.taskWait };
  let versionPromise: Promise<PveVersion> | undefined;

  const call = <T>(method: string, path: string, params?: Params, o?: RequestOptions): Promise<T> => transport.request(method, path, params, o) as Promise<T>;

  async function mutate<T>(method: string, path: string, params: Params | undefined, o: MutateOptions): Promise<MutationResult<T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = (await transport.request(method, path, params, { attempts: 1, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) })) as T;
        return { status: 'done', value };
      } catch (err) {
        if (!isPveError(err)) throw err;
        if (attempt > 1 && o.alreadyDone(err)) return { status: 'already-done', error: err };
        if (attempt >= retry.attempts || !isTransient(err)) throw err;
        const delay = backoffDelay(retry, attempt + 1);
        reporter?.emit({ type: 'log', level: 'debug', message: `resending ${method} ${path} in ${delay} ms after: ${err.pveMessage}` });
        await sleep(delay);
      }
    }
  }

  const version = (): Promise<PveVersion> => {
    versionPromise ??= (async () => {
      const v = pveRecord(await call('GET', '/version'));
      const text = pveString(v['version']) ?? '';
      const parsed = parsePveVersion(text, pveString(v['release']));
      if (!parsed) throw new PveError({ code: 'LAB_PVE_API', summary: `unreadable Proxmox version '${text}'`, hint: 'is this a Proxmox VE API endpoint?' });
      return parsed;
    })().catch((e: unknown) => {
      versionPromise = undefined;
      throw e;
    });
    return versionPromise;
  };

  const client: PveClient = {
    origin: transport.origin,
    principal: transport.session.principal,
    api: proxmoxApi(transport),
    transport,
    get: (p, params, o) => call('GET', p, params, o),
    post: (p, params, o) => call('POST', p, params, o),
    put: (p, params, o) => call('PUT', p, params, o),
    delete: (p, params, o) => call('DELETE', p, params, o),
    mutate,
    waitForTask: (upid, o) => waitForTask(transport, upid, { ...waitDefaults, ...o }),
    async runTask(method, p, params, o) {
      const upid = await call(method, p, params);
      return waitForTask(transport, upid, { ...waitDefaults, ...o });
    },
    version,
    features: async () => pveFeatures(await version()),
    close: () => transport.close(),
  };
  return client;
}
