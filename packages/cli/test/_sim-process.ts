import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Secret } from '@lab/core';
import { createPveClient, type PveClient } from '@lab/pve';
import { WORKSPACE } from './_harness.js';

/**
 * `lab sim start` for a lab in its own process, as a Proxmox cluster is: the CLI commands of a
 * test connect to it (and do not start their own), so VM state — including running guests of
 * the records-only backend — lasts from one command to the next. The test side reaches it
 * with the admin token (to change a VM by hand) and the control endpoint (to inject faults).
 */
export interface SimProcess {
  readonly url: string;
  /** A client with the simulator's admin token, as an operator in the web UI would act. */
  admin(): PveClient;
  /** POST to the simulator's `/_sim/...` control endpoint. */
  control(path: string, body: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

interface Info {
  readonly url: string;
  readonly fingerprint: string;
  readonly certificatePem: string;
  readonly adminToken: { readonly id: string; readonly secret: string };
}

export async function startSimProcess(root: string): Promise<SimProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), 'sim', 'start', '--timing', 'fast', '--root', root, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const info = await new Promise<Info>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Info);
    });
    child.once('exit', (code) => reject(new Error(`lab sim start exited ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`lab sim start did not start: ${stderr}`)), 60_000).unref();
  });
  const clients: PveClient[] = [];
  const stateDir = join(root, '.lab/sim');
  return {
    url: info.url,
    admin() {
      const c = createPveClient({ url: info.url, fingerprint: info.fingerprint, auth: { kind: 'token', tokenId: info.adminToken.id, secret: new Secret(info.adminToken.secret) } });
      clients.push(c);
      return c;
    },
    control(path, body) {
      const token = readFileSync(join(stateDir, 'control-token'), 'utf8').trim();
      return new Promise((resolve, reject) => {
        const req = request(`${info.url}${path}`, { method: 'POST', ca: info.certificatePem, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
