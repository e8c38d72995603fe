import https from 'node:https';
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../src/index.js';
import { MemoryBackend } from './_memory-backend.js';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** Parsed body when it is JSON. */
  readonly json: any;
}

export interface CallOptions {
  /** Form body (URLSearchParams or a raw string) or an object sent as JSON. */
  readonly body?: string | URLSearchParams | Record<string, unknown>;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  /** Default: the admin token. `none` sends no credentials. */
  readonly auth?: 'admin' | 'none' | { readonly token: string } | { readonly ticket: string; readonly csrf?: string };
  readonly contentType?: string;
}

export interface TestSim {
  readonly sim: RunningSimulator;
  readonly backend: MemoryBackend;
  readonly dir: string;
  call(method: string, apiPath: string, opts?: CallOptions): Promise<RawResponse>;
  /** Call and return `data`, failing on non-200. */
  data(method: string, apiPath: string, opts?: CallOptions): Promise<any>;
  /** Wait for a task and return its status object. */
  wait(upid: string): Promise<any>;
  restart(extra?: Partial<SimulatorOptions>): Promise<void>;
  close(): Promise<void>;
}

export function rawRequest(sim: RunningSimulator, method: string, target: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(target, sim.url);
    const options: https.RequestOptions = { method, headers, host: sim.host, port: sim.port, path: `${url.pathname}${url.search}` };
    if (sim.protocol === 'https') options.ca = sim.certificatePem;
    const mod = sim.protocol === 'https' ? https : http;
    const req = mod.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** One generated certificate per test file: RSA key generation dominates a simulator start. */
let sharedTls: { cert: string; key: string } | undefined;

export async function startTestSim(opts: Partial<SimulatorOptions> = {}): Promise<TestSim> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pve-sim-'));
  const backend = (opts.guests as MemoryBackend | undefined) ?? new MemoryBackend();
  let sim = await startSimulator({ stateDir: dir, guests: backend, seed: 'test', ...(sharedTls ? { tls: sharedTls } : {}), ...opts });
  if (!sharedTls && sim.certificatePem) {
    sharedTls = { cert: sim.certificatePem, key: await readFile(path.join(dir, 'tls', 'pve-ssl.key'), 'utf8') };
  }
  const call = async (method: string, apiPath: string, o: CallOptions = {}): Promise<RawResponse> => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const auth = o.auth ?? 'admin';
    if (auth === 'admin') headers['Authorization'] = sim.adminToken.header;
    else if (auth !== 'none' && 'token' in auth) headers['Authorization'] = auth.token;
    else if (auth !== 'none' && 'ticket' in auth) {
      headers['Cookie'] = `PVEAuthCookie=${encodeURIComponent(auth.ticket)}`;
      if (auth.csrf) headers['CSRFPreventionToken'] = auth.csrf;
    }
    let body: string | undefined;
    if (o.body instanceof URLSearchParams || typeof o.body === 'string') {
      body = o.body.toString();
      headers['Content-Type'] ??= o.contentType ?? 'application/x-www-form-urlencoded';
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] ??= o.contentType ?? 'application/json';
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const target = apiPath.startsWith('/api2') || apiPath.startsWith('/_sim') ? apiPath : `/api2/json${apiPath}`;
    return rawRequest(sim, method, `${target}${o.query ? `?${o.query}` : ''}`, headers, body);
  };
  const data = async (method: string, apiPath: string, o: CallOptions = {}): Promise<any> => {
    const r = await call(method, apiPath, o);
    if (r.status !== 200) throw new Error(`${method} ${apiPath} -> ${r.status} ${r.reason} ${r.text}`);
    return r.json.data;
  };
  const wait = async (upid: string): Promise<any> => {
    await sim.engine.waitForTask(upid);
    const node = upid.split(':')[1];
    return data('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
  };
  return {
    get sim() {
      return sim;
    },
    backend,
    dir,
    call,
    data,
    wait,
    async restart(extra = {}) {
      await sim.close();
      sim = await startSimulator({ stateDir: dir, guests: backend, seed: 'test-restart', ...opts, ...extra });
    },
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A syntactically valid ed25519 public key line. */
export function sshKey(comment = 'ops@host'): string {
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + type.length + 4 + 32);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}
