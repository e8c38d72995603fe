import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LabError, toLabError } from '@lab/core';
import { personaFacts } from '../docs-gen/facts.js';
import type { EngineEnv } from '../env.js';
import { concerns } from '../journal/queries.js';
import { renderMetrics } from '../journal/metrics.js';
import { LAB_VERSION } from '../version.js';
import { STYLE } from './html.js';
import { cachedLabView } from './cache.js';
import { observePersona } from './observe.js';
import { errorPage, gridPage, imagesPage, journalPage, notFoundPage, personaPage } from './pages.js';
import { drillState, labGrid, type Observation } from './status.js';

export interface ServeOptions {
  readonly host?: string;
  readonly port?: number;
  /** Required (and generated when absent) for any bind other than loopback. */
  readonly token?: string;
  readonly now?: () => Date;
}

export interface LabServer {
  readonly url: string;
  /** Set when the bind is not loopback: shown once to the operator, never logged. */
  readonly token: string | undefined;
  readonly server: Server;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Same-length digests, compared in constant time. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, ...SECURITY_HEADERS });
  res.end(body);
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const cookie = /(?:^|;\s*)lab_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  return cookie ? decodeURIComponent(cookie) : (url.searchParams.get('token') ?? undefined);
}

/**
 * `lab serve`: the status page. Node's own http server, server-rendered HTML, no script and no
 * external asset (adr/0190-status-page-server.md). Reads the lab on every request and never
 * writes to it; re-observing a persona plans in check mode and keeps the result in memory.
 */
export async function startServer(env: EngineEnv, options: ServeOptions = {}): Promise<LabServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = LOOPBACK.has(host);
  if (!loopback && options.token !== undefined && options.token.length < 16) {
    throw new LabError({ code: 'LAB_SERVE_TOKEN', summary: 'the token is shorter than 16 characters', hint: 'omit --token and lab serve generates one' });
  }
  const token = loopback ? undefined : (options.token ?? randomBytes(24).toString('base64url'));
  const now = options.now ?? (() => new Date());
  const root = env.root();
  const observed = new Map<string, Observation[]>();
  const observing = new Map<string, Promise<void>>();
  let expectedHost = '';
  const readView = cachedLabView(root);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://lab.invalid');
    // DNS rebinding: only the address we listen on may be named in Host.
    if (req.headers.host !== expectedHost && !(loopback && /^(?:localhost|127\.0\.0\.1|\[::1\]):\d+$/.test(req.headers.host ?? ''))) {
      return send(res, 421, 'text/plain; charset=utf-8', 'misdirected request\n');
    }
    if (token !== undefined) {
      if (!tokenMatches(tokenOf(req, url), token)) return send(res, 401, 'text/plain; charset=utf-8', 'lab serve: a token is required (Authorization: Bearer <token>, or ?token=<token> once)\n');
      if (url.searchParams.has('token')) {
        url.searchParams.delete('token');
        res.writeHead(303, { location: url.pathname + url.search, 'set-cookie': `lab_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`, ...SECURITY_HEADERS });
        return void res.end();
      }
    }
    const path = url.pathname;
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) return send(res, 403, 'text/plain; charset=utf-8', 'cross-origin request refused\n');
      const m = /^\/persona\/([^/]+)\/observe$/.exec(path);
      if (!m) return send(res, 404, 'text/html; charset=utf-8', notFoundPage(`No such action: ${path}`));
      const name = decodeURIComponent(m[1]!);
      const view = await readView();
      if (!view.rows.some((r) => r.name === name)) return send(res, 404, 'text/html; charset=utf-8', notFoundPage(`No persona named "${name}".`));
      let run = observing.get(name);
      if (!run) {
        run = observePersona(env, name, now)
          .then((o) => void observed.set(name, o))
          .finally(() => observing.delete(name));
        observing.set(name, run);
      }
      await run;
      res.writeHead(303, { location: url.searchParams.get('back') === 'persona' ? `/persona/${encodeURIComponent(name)}` : '/', ...SECURITY_HEADERS });
      return void res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    if (path === '/style.css') return send(res, 200, 'text/css; charset=utf-8', STYLE);
    if (path === '/favicon.ico') return send(res, 204, 'text/plain', '');
    const view = await readView();
    const t = now();
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', gridPage(labGrid(view, observed), view.siteErrors.map((d) => `${d.source ? `${d.source.file}:${d.source.line}:${d.source.column} ` : ''}${d.summary}`), t));
    if (path === '/journal') {
      const persona = url.searchParams.get('persona') || undefined;
      const layer = url.searchParams.get('layer') || undefined;
      return send(res, 200, 'text/html; charset=utf-8', journalPage(view, { ...(persona ? { persona } : {}), ...(layer ? { layer } : {}) }, t));
    }
    if (path === '/images') return send(res, 200, 'text/html; charset=utf-8', imagesPage(view));
    if (path === '/metrics') {
      if (!view.lab) return send(res, 503, 'text/plain; charset=utf-8', '# lab serve: the lab does not validate; run `lab validate`\n');
      return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await renderMetrics(view.lab, view.journal.entries, LAB_VERSION));
    }
    const pm = /^\/persona\/([^/]+)$/.exec(path);
    if (pm) {
      const name = decodeURIComponent(pm[1]!);
      const row = view.rows.find((r) => r.name === name);
      if (!row) return send(res, 404, 'text/html; charset=utf-8', notFoundPage(`No persona named "${name}".`));
      const intentText = await readFile(join(root, 'personas', name, 'persona.yaml'), 'utf8').catch(() => undefined);
      const facts = row.loaded && view.lab ? await personaFacts(view.lab, row.loaded, view.journal.entries) : undefined;
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        personaPage({
          name,
          intentText,
          errors: row.errors.map((d) => `${d.source ? `${d.source.file}:${d.source.line}:${d.source.column} ` : ''}${d.path ? `${d.path}: ` : ''}${d.summary}${d.hint ? ` (${d.hint})` : ''}`),
          facts,
          observations: observed.get(name) ?? [],
          entries: view.journal.entries.filter((e) => concerns(e, name)),
          drill: row.loaded ? drillState(view.journal.entries, row.loaded, t) : undefined,
          now: t,
        }),
      );
    }
    return send(res, 404, 'text/html; charset=utf-8', notFoundPage(`Nothing at ${path}.`));
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const e = toLabError(error);
      env.reporter.emit({ type: 'log', level: 'warn', message: `lab serve: ${req.method} ${req.url}: ${e.code} ${e.summary}` });
      if (!res.headersSent) send(res, 500, 'text/html; charset=utf-8', errorPage(e.code, e.summary));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new LabError({ code: 'LAB_SERVE_LISTEN', summary: `cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, hint: 'pick another port with --port', cause: e })),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  expectedHost = `${hostPart}:${addr.port}`;
  return {
    url: `http://${expectedHost}/`,
    token,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
