import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Sim } from '../engine/sim.js';
import type { LatencyFault, RequestFault, TaskFault } from './faults.js';
import { placeSnippet } from '../storage/snippets.js';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
  res.end(text);
}

function authorised(req: IncomingMessage, token: string): boolean {
  const got = Buffer.from(String(req.headers['authorization'] ?? ''));
  const want = Buffer.from(`Bearer ${token}`);
  return got.length === want.length && timingSafeEqual(got, want);
}

function pathOrRegex(value: unknown, regex: unknown): string | RegExp {
  const text = String(value ?? '');
  return regex === true ? new RegExp(text) : text;
}

function num(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : Number(v);
}

/**
 * The `/_sim/...` control endpoint: JSON in, JSON out, `Authorization: Bearer <control token>`.
 * It drives the same fault controller the programmatic API exposes.
 */
export function createControlHandler(sim: Sim, token: string) {
  return async (req: IncomingMessage, res: ServerResponse, body: string): Promise<boolean> => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!authorised(req, token)) {
      send(res, 401, { error: 'control token required' });
      return true;
    }
    let input: Record<string, unknown> = {};
    if (body.trim()) {
      try {
        input = JSON.parse(body) as Record<string, unknown>;
      } catch {
        send(res, 400, { error: 'body must be JSON' });
        return true;
      }
    }
    const method = req.method ?? 'GET';
    const f = sim.faults;
    try {
      let m: RegExpExecArray | null;
      if (method === 'GET' && path === '/_sim/info') {
        send(res, 200, { nodes: Object.keys(sim.state.nodes), fingerprint: sim.fingerprint, version: sim.options.compat.version });
      } else if (method === 'GET' && path === '/_sim/faults') {
        send(res, 200, { faults: f.list().map((e) => ({ ...e, spec: { ...e.spec, path: String((e.spec as RequestFault).path ?? '') } })) });
      } else if (method === 'DELETE' && path === '/_sim/faults') {
        f.clear();
        send(res, 200, { ok: true });
      } else if (method === 'DELETE' && (m = /^\/_sim\/faults\/([^/]+)$/.exec(path))) {
        send(res, f.remove(m[1]!) ? 200 : 404, { ok: true });
      } else if (method === 'POST' && path === '/_sim/faults/request') {
        const spec: RequestFault = {
          path: pathOrRegex(input['path'], input['regex']),
          status: Number(input['status'] ?? 500),
          message: String(input['message'] ?? 'injected failure'),
          ...(input['method'] ? { method: String(input['method']) } : {}),
          ...(num(input['nth']) !== undefined ? { nth: num(input['nth'])! } : {}),
          ...(num(input['times']) !== undefined ? { times: num(input['times'])! } : {}),
        };
        send(res, 200, { id: f.failRequest(spec) });
      } else if (method === 'POST' && path === '/_sim/faults/task') {
        const spec: TaskFault = {
          message: String(input['message'] ?? 'injected task failure'),
          ...(input['type'] ? { type: String(input['type']) } : {}),
          ...(input['id'] !== undefined ? { id: String(input['id']) } : {}),
          ...(input['node'] ? { node: String(input['node']) } : {}),
          ...(num(input['times']) !== undefined ? { times: num(input['times'])! } : {}),
        };
        send(res, 200, { id: f.failTask(spec) });
      } else if (method === 'POST' && path === '/_sim/faults/latency') {
        const spec: LatencyFault = {
          ms: Number(input['ms'] ?? 0),
          ...(input['method'] ? { method: String(input['method']) } : {}),
          ...(input['path'] !== undefined ? { path: pathOrRegex(input['path'], input['regex']) } : {}),
        };
        send(res, 200, { id: f.addLatency(spec) });
      } else if ((m = /^\/_sim\/vms\/(\d+)\/lock$/.exec(path)) && (method === 'POST' || method === 'DELETE')) {
        if (method === 'POST') await f.holdLock(Number(m[1]), String(input['lock'] ?? 'backup'));
        else await f.releaseLock(Number(m[1]));
        send(res, 200, { ok: true });
      } else if (method === 'POST' && (m = /^\/_sim\/vms\/(\d+)\/flock$/.exec(path))) {
        await f.holdConfigFlock(Number(m[1]), Number(input['ms'] ?? 1000));
        send(res, 200, { ok: true });
      } else if (method === 'POST' && path === '/_sim/agent-delay') {
        f.delayAgent(Number(input['ms'] ?? 0), num(input['vmid']));
        send(res, 200, { ok: true });
      } else if (method === 'POST' && (m = /^\/_sim\/nodes\/([^/]+)\/down$/.exec(path))) {
        await f.setNodeDown(m[1]!, input['down'] !== false, { powerLoss: input['powerLoss'] === true });
        send(res, 200, { ok: true });
      } else if (method === 'POST' && path === '/_sim/task-status-delay') {
        f.taskStatusDelayMs = Number(input['ms'] ?? 0);
        send(res, 200, { ok: true });
      } else if (method === 'POST' && path === '/_sim/resources-lag') {
        f.setResourcesLag(Number(input['ms'] ?? 0));
        send(res, 200, { ok: true });
      } else if (method === 'POST' && path === '/_sim/snippets') {
        const volid = await placeSnippet(sim, String(input['node'] ?? sim.localNode), String(input['storage'] ?? 'local'), String(input['name']), String(input['content'] ?? ''));
        await sim.save();
        send(res, 200, { volid });
      } else {
        send(res, 404, { error: `no control route ${method} ${path}` });
      }
    } catch (err) {
      send(res, 400, { error: (err as Error).message.trim() });
    }
    return true;
  };
}
