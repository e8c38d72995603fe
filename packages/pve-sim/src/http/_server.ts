import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Sim } from '../engine/sim.js';
import { authenticate, hasApiToken, requiresAuth, type AuthResult } from '../access/authenticate.js';
import { ApiError, RawHttpError, messageOf } from './_errors.js';
import { decodeUrlencoded, extractParams, mediaType, type RawParams, type RawValue } from './_params.js';
import { multipartBoundary, parseMultipart } from './_multipart.js';
import { stashUpload } from '../storage/upload.js';
import { JSON_CONTENT_TYPE, reasonPhrase, writeResponse } from './_response.js';
import { checkApiPermissions, type HandlerContext, type Method, type Params, type Router } from './_router.js';
import { checkObject, type Errors } from '../schema/_validate.js';
import type { ObjectSchema } from '../schema/_types.js';
import { uriUnescape } from '../util/_list.js';
import { resolveNode } from '../engine/nodes.js';

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']);
const MAX_POST = 512 * 1024;

export interface ApiServerDeps {
  readonly sim: Sim;
  readonly router: Router;
  /** Handles `/_sim/...`; returns false when the path is not its own. */
  readonly control: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<boolean>;
}

interface Outcome {
  readonly status: number;
  readonly message: string;
  readonly json?: { data: unknown; errors?: Errors; total?: number; changes?: string };
}

/** The request body; anything past `limit` is drained, not kept (the 501 comes later). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit + 1) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const UPLOAD_RE = /^\/api2\/json\/nodes\/([^/]+)\/storage\/([^/]+)\/upload\/?$/;
/** Uploads bypass the POST limit; the simulator keeps them in memory, so it caps them. */
const MAX_UPLOAD = 2 * 1024 ** 3 - 1;

/** Scalars as PVE hands them to handlers: strings; JSON booleans as 1/0; arrays kept. */
function normalise(raw: RawParams, schema: ObjectSchema): Params {
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined) continue;
    const type = schema[k]?.type;
    if (Array.isArray(v)) out[k] = v.map((x) => scalar(x));
    else if (type === 'array') out[k] = [scalar(v)];
    else out[k] = scalar(v);
  }
  return out;
}

function scalar(v: RawValue): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `$normalize_legacy_param_formats`: arrays for `-list` strings are comma-joined. */
function normaliseLegacy(raw: RawParams, schema: ObjectSchema): void {
  for (const [k, s] of Object.entries(schema)) {
    const v = raw[k];
    if (!v) continue;
    if (Array.isArray(v) && s.type === 'string' && typeof s.format === 'string' && s.format.endsWith('-list')) {
      raw[k] = v.map((x) => scalar(x)).join(',');
    } else if (!Array.isArray(v) && s.type === 'array') {
      raw[k] = [v];
    }
  }
}

/**
 * One API request through PVE's pipeline: format check, authentication (401 with delay),
 * transport checks (501/506), route lookup (501), URI/body conflicts (400), token and ACL
 * permission checks (403) before parameter validation (400), node proxying, then the handler.
 */
export function createRequestHandler(deps: ApiServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { sim, router } = deps;
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        writeResponse(res, { status: 500, reason: reasonPhrase(messageOf(err)), body: '', acceptGzip: false });
      }
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = sim.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const url = { pathname: q < 0 ? target : target.slice(0, q) };
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    const acceptGzip = /gzip/.test(String(req.headers['accept-encoding'] ?? ''));
    const upload = method === 'POST' ? UPLOAD_RE.exec(uriUnescape(url.pathname)) : null;
    const rawBody = await readBody(req, upload ? MAX_UPLOAD : MAX_POST);
    const body = rawBody.toString('latin1');

    if (url.pathname.startsWith('/_sim/') || url.pathname === '/_sim') {
      if (await deps.control(req, res, rawBody.toString('utf8'))) return;
    }

    const sendRaw = async (err: RawHttpError, delayMs = 0): Promise<void> => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const text = err.status === 401 || !sim.options.compat.messageField ? '' : err.body;
      writeResponse(res, { status: err.status, reason: reasonPhrase(err.message), body: text, acceptGzip: false });
      sim.emit({ kind: 'request', method, path: url.pathname, status: err.status });
    };

    if (!KNOWN_METHODS.has(method)) return sendRaw(new RawHttpError(501, `method '${method}' not available`));
    const path = uriUnescape(url.pathname);
    const m = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(path);
    if (!path.startsWith('/api2')) return sendRaw(new RawHttpError(501, `no such file '${path}'`));
    if (!m) return sendRaw(new RawHttpError(501, 'no such uri'));
    const format = m[1]!;
    const relUri = m[2] ?? '/';

    let auth: AuthResult | undefined;
    if (requiresAuth(method, relUri)) {
      try {
        auth = authenticate(sim, method, req.headers, { skipCsrf: !!upload });
        if (upload && !sim.access.has(auth.principal, `/storage/${upload[2]}`, ['Datastore.AllocateTemplate'])) {
          throw new RawHttpError(403, `Permission check failed (/storage/${upload[2]}, Datastore.AllocateTemplate)`, '');
        }
      } catch (err) {
        if (err instanceof RawHttpError) {
          const elapsed = sim.now() - started;
          return sendRaw(err, Math.max(0, sim.options.timing.authFailureDelayMs - elapsed));
        }
        throw err;
      }
    } else if (hasApiToken(req.headers)) {
      auth = { principal: '', isToken: true };
    }

    const len = Number(req.headers['content-length'] ?? rawBody.length);
    let uploaded: RawParams | undefined;
    if (upload && len > 0) {
      const boundary = multipartBoundary(req.headers['content-type']);
      if (!boundary) return sendRaw(new RawHttpError(506, `upload 'Content-Type '${req.headers['content-type'] ?? ''}' not implemented`));
      if (len > MAX_UPLOAD) return sendRaw(new RawHttpError(501, 'for data too large'));
      const query = decodeUrlencoded(rawQuery);
      if (query['tmpfilename'] !== undefined) return sendRaw(new RawHttpError(500, "'tmpfilename' query parameter is not allowed for file uploads"));
      const parsed = parseMultipart(rawBody, boundary);
      uploaded = { ...query, ...parsed.fields };
      if (parsed.filename !== undefined && parsed.data) {
        uploaded['filename'] = parsed.filename;
        uploaded['tmpfilename'] = await stashUpload(sim, parsed.data);
      }
    } else if (len > 0) {
      if (method !== 'PUT' && method !== 'POST') return sendRaw(new RawHttpError(501, `Unexpected content for method '${method}'`));
      if (len > MAX_POST) return sendRaw(new RawHttpError(501, 'for data too large'));
      const ct = mediaType(req.headers['content-type']);
      if (ct && ct !== 'application/x-www-form-urlencoded' && ct !== 'application/json') {
        return sendRaw(new RawHttpError(506, `upload 'Content-Type '${req.headers['content-type']}' not implemented`));
      }
    }
    if (format !== 'json') return sendRaw(new RawHttpError(501, `no formatter for uri ${relUri}, ${format}`));

    const latency = sim.faults.latencyFor(method, relUri);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const injected = sim.faults.requestFailure(method, relUri);
    if (injected) {
      if (injected.status === 401 || injected.status >= 595) {
        return sendRaw(new RawHttpError(injected.status, injected.message, ''));
      }
      return sendJson({ status: injected.status, message: `${injected.message}\n`, json: { data: null } });
    }

    let outcome: Outcome;
    try {
      const params = uploaded ?? extractParams(method, req.headers['content-type'], body, rawQuery);
      outcome = await dispatch(method as Method, relUri, params, auth);
    } catch (err) {
      if (err instanceof RawHttpError) return sendRaw(err);
      outcome = toOutcome(err);
    }
    if (outcome.status === 401) {
      const elapsed = sim.now() - started;
      const wait = Math.max(0, sim.options.timing.authFailureDelayMs - elapsed);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (method !== 'GET') await sim.save();
    return sendJson(outcome);

    function sendJson(o: Outcome): void {
      const isError = o.status >= 400;
      const envelope: Record<string, unknown> = { data: o.json?.data ?? null };
      if (o.json?.errors && Object.keys(o.json.errors).length > 0) envelope['errors'] = o.json.errors;
      if (isError && sim.options.compat.messageField) envelope['message'] = o.message;
      if (!isError && o.json?.total) envelope['total'] = o.json.total;
      if (!isError && o.json?.changes) envelope['changes'] = o.json.changes;
      writeResponse(res, {
        status: o.status,
        reason: reasonPhrase(o.message),
        contentType: JSON_CONTENT_TYPE,
        body: JSON.stringify(envelope),
        acceptGzip,
      });
      sim.emit({ kind: 'request', method, path: relUri, status: o.status, ...(auth?.principal ? { principal: auth.principal } : {}) });
    }
  }

  async function dispatch(method: Method, relUri: string, params: RawParams, auth: AuthResult | undefined): Promise<Outcome> {
    const found = router.match(method, relUri);
    if (!found) return { status: 501, message: `Method '${method} ${relUri}' not implemented` };
    const { route, uriParams } = found;
    const merged: RawParams = { ...uriParams };
    for (const k of Object.keys(params).sort()) {
      const v = params[k];
      if (uriParams[k] !== undefined && (v === null || v === undefined || uriParams[k] !== scalar(v as RawValue))) {
        return toOutcome(
          new ApiError(400, 'Parameter verification failed.\n', {
            [k]: 'duplicate parameter (already defined in URI) with conflicting values!',
          }),
        );
      }
      merged[k] = v as RawValue;
    }
    if (auth?.isToken && route.allowToken === false) {
      return toOutcome(
        new ApiError(403, `Permission check failed (URI '${relUri}' not available with API token, need proper ticket.\n)\n`),
      );
    }
    checkApiPermissions(sim, typeof route.permissions === 'function' ? route.permissions(sim) : route.permissions, auth?.principal, merged);

    let node = sim.localNode;
    if (uriParams['node'] !== undefined) {
      node = resolveNode(sim, uriParams['node']);
      merged['node'] = node;
    }
    const schema: ObjectSchema = route.params ?? {};
    normaliseLegacy(merged, schema);
    const errors: Errors = {};
    checkObject('', schema, merged, errors);
    if (Object.keys(errors).length > 0) return toOutcome(new ApiError(400, 'Parameter verification failed.\n', errors));

    const ctx: HandlerContext = {
      sim,
      principal: auth?.principal ?? '',
      isToken: auth?.isToken ?? false,
      params: normalise(merged, schema),
      node,
      attrs: {},
      request: { method, path: relUri },
    };
    const data = await route.handler(ctx);
    return {
      status: 200,
      message: 'OK',
      json: { data: data === undefined ? null : data, ...ctx.attrs },
    };
  }
}

function toOutcome(err: unknown): Outcome {
  if (err instanceof ApiError) {
    return { status: err.status, message: err.message, json: { data: null, ...(err.errors ? { errors: { ...err.errors } } : {}) } };
  }
  const msg = messageOf(err);
  return { status: 500, message: msg.endsWith('\n') ? msg : `${msg}\n`, json: { data: null } };
}
