import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

/**
 * The simulator's `/_sim` control endpoint (fault injection), for the situations a runbook is
 * written for: an apply killed half-way needs the cluster to hold it there first. TLS is pinned
 * to the simulator's own certificate, as every client of it does.
 */
export async function simControl(stateDir: string, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const ep = JSON.parse(readFileSync(join(stateDir, 'endpoint.json'), 'utf8')) as { url: string; certificatePem?: string };
  const token = readFileSync(join(stateDir, 'control-token'), 'utf8').trim();
  return new Promise((resolve, reject) => {
    const req = request(
      `${ep.url}${path}`,
      { method, ...(ep.certificatePem ? { ca: ep.certificatePem } : {}), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as unknown) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
