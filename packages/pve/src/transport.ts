import type { Reporter } from '@lab/core';
import { fetch, type Agent } from 'undici';
import type { ApiRequestable } from 'proxmox-api';
import { createPinnedAgent, createPlainAgent } from './_tls.js';
import { encodeParams, relativeApiPath, type Params } from './_form.js';
import { createAuthSession, type AuthSession, type LoginAnswer, type PveAuth } from './auth.js';
import { errorFromResponse, findPveError, PveError, pveMessage, type PveCallInfo } from './errors.js';
import { backoffDelay, DEFAULT_RETRY, isSafeToResend, isTransient, sleep, type RetryPolicy } from './retry.js';

export interface TransportOptions {
  /** `https://host:8006` (a trailing `/` or `/api2/json` is accepted). */
  readonly url: string;
  /** SHA-256 fingerprint of the API certificate; required for https. */
  readonly fingerprint?: string;
  readonly auth: PveAuth;
  /** Per request. Default 30 s (pveproxy gives up on a proxied call after 30 s as well). */
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /**
   * Keep-alive connections to the API at most, and the number of reads layers run at once
   * (`connections`). Default 16: pveproxy serves many requests in parallel, and four sockets
   * made a 100-persona plan wait in line (adr/0157).
   */
  readonly connections?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly reporter?: Reporter;
  /** Epoch ms; inject to test ticket renewal. */
  readonly clock?: () => number;
}

/** How one call may be repeated after a transient failure. */
export type ResendPolicy =
  /** Repeat on any transient failure (reads, and writes that set absolute values). */
  | 'idempotent'
  /** Repeat only when PVE provably did nothing (flock timeout, 595, connection refused). */
  | 'safe';

export interface RequestOptions {
  readonly resend?: ResendPolicy;
  readonly timeoutMs?: number;
  /** Overrides the policy's attempt count (1 = no resend here; the caller decides). */
  readonly attempts?: number;
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|\[?::1\]?|localhost)$/i;
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The request engine behind `proxmox-api`'s typed proxy (it implements `ApiRequestable`) and
 * the client's own calls: pinned TLS, auth headers, PVE's form encoding, error mapping and the
 * retry policy of pve-api.md §7. proxmox-api's own engine is not used because it resends any
 * request — POSTs included — after a network error, reads the error only from the reason
 * phrase and cannot renew tickets ahead of expiry (adr/0070).
 */
/** Default size of the connection pool, and so of read parallelism (`TransportOptions.connections`). */
export const DEFAULT_PVE_CONNECTIONS = 16;

export class PveTransport implements ApiRequestable {
  readonly origin: string;
  /** How many requests this transport carries at once; layers size their read fan-out by it. */
  readonly connections: number;
  readonly session: AuthSession;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly reporter: Reporter | undefined;

  constructor(options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new PveError({ code: 'LAB_PVE_CONFIG', summary: `'${options.url}' is not a URL`, hint: 'write the API endpoint as https://<node>:8006' });
    }
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const connections = Math.max(1, Math.floor(options.connections ?? DEFAULT_PVE_CONNECTIONS));
    this.connections = connections;
    if (url.protocol === 'https:') {
      if (!options.fingerprint) {
        throw new PveError({
          code: 'LAB_PVE_CONFIG',
          summary: `no certificate fingerprint for ${url.host}`,
          hint: 'set proxmox.fingerprint in lab.yaml (`pvenode cert info`); lab never trusts a certificate on first use',
        });
      }
      this.dispatcher = createPinnedAgent({ fingerprint: options.fingerprint, connectTimeoutMs, connections });
    } else if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) {
      this.dispatcher = createPlainAgent(connectTimeoutMs, connections);
    } else {
      throw new PveError({ code: 'LAB_PVE_CONFIG', summary: `refusing ${url.protocol}//${url.host}: the Proxmox API is reached over https only`, hint: 'use https://<node>:8006' });
    }
    this.origin = url.origin;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.reporter = options.reporter;
    this.session = createAuthSession(options.auth, (u, p) => this.login(u, p), options.clock ?? Date.now);
  }

  /** `ApiRequestable`: the typed proxy's calls; reads are idempotent, writes only "safe". */
  doRequest(httpMethod: string, path: string, _pathTemplate: string, params?: Record<string, unknown>): Promise<unknown> {
    const method = httpMethod.toUpperCase();
    return this.request(method, relativeApiPath(path), params as Params | undefined, { resend: method === 'GET' ? 'idempotent' : 'safe' });
  }

  /** One API call with retries; resolves with `data`. */
  async request(method: string, path: string, params?: Params, options: RequestOptions = {}): Promise<unknown> {
    const resend = options.resend ?? (method === 'GET' ? 'idempotent' : 'safe');
    const attempts = options.attempts ?? this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, path, params, options.timeoutMs ?? this.timeoutMs);
      } catch (err) {
        const error = err as PveError;
        const again = attempt < attempts && isTransient(error) && (resend === 'idempotent' || isSafeToResend(error));
        if (!again) throw error;
        const delay = backoffDelay(this.retry, attempt + 1);
        this.reporter?.emit({ type: 'log', level: 'debug', message: `retrying ${method} ${path} in ${delay} ms after: ${error.pveMessage} (attempt ${attempt + 1}/${attempts})` });
        await sleep(delay);
      }
    }
  }

  private async once(method: string, path: string, params: Params | undefined, timeoutMs: number, reauthed = false): Promise<unknown> {
    const res = await this.send(method, path, params, timeoutMs, await this.session.headers(method));
    if (res.status === 401 && !reauthed && (await this.session.recover())) {
      // A 401 is answered before the handler runs, so sending again cannot act twice.
      return this.once(method, path, params, timeoutMs, true);
    }
    if (res.status === 200) return (res.body as { data?: unknown } | undefined)?.data ?? null;
    throw errorFromResponse(res.call, this.session.principal);
  }

  private async login(username: string, password: string): Promise<LoginAnswer> {
    const res = await this.send('POST', '/access/ticket', { username, password }, this.timeoutMs, {});
    if (res.status !== 200) {
      const e = errorFromResponse(res.call, username);
      // PVE answers bad credentials at login with 401 `authentication failure`.
      throw res.status === 401 ? new PveError({ code: 'LAB_PVE_AUTH', summary: `login of ${username} failed: ${res.call.message || 'authentication failure'}`, hint: 'check the user name (with realm, e.g. root@pam) and the password', call: res.call }) : e;
    }
    const data = (res.body as { data?: Record<string, unknown> }).data ?? {};
    const ticket = data['ticket'];
    const csrf = data['CSRFPreventionToken'];
    if (typeof ticket !== 'string' || typeof csrf !== 'string') {
      throw new PveError({ code: 'LAB_PVE_AUTH', summary: `login of ${username} returned no ticket`, detail: data['NeedTFA'] ? 'the account requires a second factor' : undefined, hint: 'use an API token for accounts with two-factor authentication' });
    }
    return { ticket, csrf, username: typeof data['username'] === 'string' ? data['username'] : username };
  }

  private async send(
    method: string,
    path: string,
    params: Params | undefined,
    timeoutMs: number,
    auth: Record<string, string>,
  ): Promise<{ status: number; body: unknown; call: PveCallInfo & { status: number; message: string } }> {
    const form = encodeParams(params);
    const hasBody = method === 'POST' || method === 'PUT';
    // GET/DELETE parameters go in the query: PVE answers 501 to a DELETE with a body (§1).
    const query = !hasBody && [...form.keys()].length > 0 ? `?${form.toString()}` : '';
    const url = `${this.origin}/api2/json${path}${query}`;
    const headers: Record<string, string> = { Accept: 'application/json', ...auth };
    let body: string | undefined;
    if (hasBody) {
      body = form.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(url, { method, headers, body, dispatcher: this.dispatcher, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw this.networkError(method, path, err, timeoutMs);
    }
    const text = await response.text();
    let json: unknown;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const message = pveMessage(response.statusText, json, text);
    const errors = (json as { errors?: unknown } | undefined)?.errors;
    const call = {
      method,
      path,
      status: response.status,
      message,
      ...(typeof errors === 'object' && errors !== null ? { paramErrors: errors as Record<string, string> } : {}),
      // Auth and routing failures are answered before any handler runs.
      ...(response.status === 401 || response.status === 501 || response.status === 595 ? { mayHaveActed: false } : {}),
    };
    return { status: response.status, body: json, call };
  }

  private networkError(method: string, path: string, err: unknown, timeoutMs: number): PveError {
    const pinned = findPveError(err);
    if (pinned) return pinned;
    const code = errnoOf(err);
    const timedOut = (err as { name?: string }).name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT';
    const notSent = code !== undefined && NOT_SENT.has(code);
    const call: PveCallInfo = { method, path, message: describe(err), mayHaveActed: !notSent && method !== 'GET' };
    if (timedOut) {
      return new PveError({
        code: 'LAB_PVE_TIMEOUT',
        summary: `${method} ${path} got no answer within ${Math.round(timeoutMs / 1000)} s`,
        detail: method === 'GET' ? undefined : 'the request may still be running on the node; lab does not resend it blindly',
        hint: 'the node is overloaded or a synchronous call is stuck; check the task list on the node and run `lab plan` again',
        call,
        cause: err,
      });
    }
    return new PveError({
      code: 'LAB_PVE_UNREACHABLE',
      summary: `cannot reach the Proxmox API at ${this.origin}: ${describe(err)}`,
      hint: 'check proxmox.url in lab.yaml, that pveproxy runs on the node (`systemctl status pveproxy`) and that port 8006 is reachable',
      call,
      cause: err,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function errnoOf(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 6 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(err: unknown): string {
  let cur: unknown = err;
  let last = String(err);
  for (let i = 0; i < 6 && cur; i++) {
    if (cur instanceof Error) last = cur.message;
    cur = (cur as { cause?: unknown }).cause;
  }
  return last;
}
