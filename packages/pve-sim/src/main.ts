/**
 * Standalone simulator: `node --conditions=@lab/source --import tsx packages/pve-sim/src/main.ts
 * --nodes 3 --state DIR [--port 8006] [--http] [--guests none|docker] [--seed S]
 * [--timing realistic|fast] [--pve 8.4|9.1] [--jump-key ~/.ssh/id_ed25519.pub] [--json]`.
 * Prints the URL, certificate fingerprint and admin token, then runs until SIGINT/SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isLabError } from '@lab/core';
import { startSimulator } from './simulator.js';
import { createDockerBackend, createNoneBackend, ensureGuestImage } from './guests/index.js';
import { guestInstanceName } from './guests/instance-name.js';
import type { GuestBackend } from './guests/backend.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1' },
      state: { type: 'string' },
      port: { type: 'string', default: '0' },
      http: { type: 'boolean', default: false },
      guests: { type: 'string', default: 'none' },
      seed: { type: 'string' },
      timing: { type: 'string', default: 'realistic' },
      pve: { type: 'string' },
      'jump-key': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.state) throw new Error('--state DIR is required');
  const nodes = /^\d+$/.test(values.nodes) ? Number(values.nodes) : values.nodes.split(',');
  let guests: GuestBackend;
  if (values.guests === 'docker') {
    const image = await ensureGuestImage({ onProgress: (l) => process.stderr.write(`${l}\n`) });
    const instance = guestInstanceName(values.state);
    const imageFor = async (suite: string): Promise<string> => (await ensureGuestImage({ suite, onProgress: (l) => process.stderr.write(`${l}\n`) })).tag;
    guests = createDockerBackend({ image: image.tag, imageFor, instance });
  } else if (values.guests === 'none') {
    guests = createNoneBackend();
  } else {
    throw new Error(`--guests must be none or docker, not '${values.guests}'`);
  }
  const timing = values.timing === 'fast' ? 'fast' : 'realistic';
  const sim = await startSimulator({
    stateDir: values.state,
    nodes,
    https: !values.http,
    port: Number(values.port),
    guests,
    timing,
    lockPurpose: 'pve-sim main.ts',
    ...(values.pve !== undefined ? { pve: values.pve } : {}),
    ...(values.seed !== undefined ? { seed: values.seed } : {}),
  });
  let jump: Awaited<ReturnType<typeof import('./jump/index.js')['startJumpHost']>> | undefined;
  const keys = (await Promise.all((values['jump-key'] ?? []).map((f) => readFile(f, 'utf8')))).flatMap((t) => t.split('\n').filter((l) => l.trim()));
  if (keys.length > 0) {
    // Loaded on demand: the jump host pulls in ssh2, which plain runs without it never need.
    const { startJumpHost } = await import('./jump/index.js');
    jump = await startJumpHost({ stateDir: values.state, authorizedKeys: keys, resolve: (host, port) => sim.engine.resolveGuestEndpoint(host, port) });
  }
  const info = {
    url: sim.url,
    apiUrl: sim.apiUrl,
    fingerprint: sim.fingerprint ?? null,
    adminToken: sim.adminToken.header,
    version: sim.version,
    rootPassword: sim.rootPassword,
    rootPasswordFile: sim.rootPasswordFile,
    controlToken: sim.controlToken,
    nodes: sim.nodes,
    state: values.state,
    ...(jump ? { jumpHost: `${jump.host}:${jump.port}`, jumpHostKey: jump.hostPublicKey } : {}),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else for (const [k, v] of Object.entries(info)) process.stdout.write(`${k}: ${Array.isArray(v) ? v.join(',') : v}\n`);

  const stop = async (): Promise<void> => {
    await jump?.close();
    await sim.close();
    await guests.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`${isLabError(err) ? err.format() : err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
