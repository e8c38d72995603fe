import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryReporter, isLabError } from '@lab/core';
import { acquireOwnerLock, publishEndpoint } from '@lab/pve-sim';
import { startEmbedded } from '../src/sim/embedded.js';

// A command that finds the embedded lab owned by a command still starting (lock taken, no
// endpoint yet) waits, says for whom, and attaches once the endpoint appears (ADR 0170).

const INFO = {
  url: 'https://127.0.0.1:1',
  fingerprint: undefined,
  certificatePem: undefined,
  adminToken: { id: 'root@pam!lab-admin', secret: 's' },
  jumpHost: { host: '127.0.0.1', port: 2, hostPublicKey: 'k', knownHostsLine: 'l' },
  guests: 'none' as const,
  nodes: ['pve'],
  pveVersion: '8.4.1',
  rootPasswordFile: '/x',
};

describe('waiting for the owner of the embedded lab', () => {
  it('waits while the owner starts, then attaches with a lease it drops on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-embedded-wait-'));
    const lock = await acquireOwnerLock(dir, 'lab up');
    const reporter = createMemoryReporter();
    const attaching = startEmbedded({ stateDir: dir, nodes: 1, guests: 'none', reporter });
    await new Promise((r) => setTimeout(r, 400));
    await publishEndpoint(dir, lock.holder, INFO);
    const sim = await attaching;
    expect(sim).toMatchObject({ shared: true, url: INFO.url, pveVersion: '8.4.1' });
    const messages = reporter.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(messages.some((m) => m.startsWith(`waiting for the embedded lab: the simulator state ${dir} is owned by lab up (pid ${process.pid}`))).toBe(true);
    expect(messages.some((m) => m.startsWith('using the embedded lab served by lab up'))).toBe(true);
    expect(readdirSync(join(dir, 'clients'))).toHaveLength(1);
    await sim.close();
    expect(readdirSync(join(dir, 'clients'))).toHaveLength(0);
    await lock.release();
  });

  it('gives up after its bound with the owner named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-embedded-wait-'));
    const lock = await acquireOwnerLock(dir, 'lab apply');
    try {
      await startEmbedded({ stateDir: dir, nodes: 1, guests: 'none', reporter: createMemoryReporter(), waitMs: 300 });
      expect.unreachable();
    } catch (err) {
      expect(isLabError(err) && err.code).toBe('LAB_SIM_STATE_BUSY');
      expect(isLabError(err) && err.summary).toContain('owned by lab apply');
    } finally {
      await lock.release();
    }
  });
});

describe('attaching to a simulator of another release', () => {
  it('warns that lab.yaml asks for another release than the running one speaks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-embedded-pve-'));
    const lock = await acquireOwnerLock(dir, 'lab sim start');
    await publishEndpoint(dir, lock.holder, INFO);
    const reporter = createMemoryReporter();
    const sim = await startEmbedded({ stateDir: dir, nodes: 1, guests: 'none', reporter, pve: '9.1' });
    const warnings = reporter.events.flatMap((e) => (e.type === 'diagnostic' ? [e.diagnostic] : []));
    expect(warnings).toEqual([expect.objectContaining({ code: 'LAB_SIM_PVE_MISMATCH', summary: 'lab.yaml asks for Proxmox VE 9.1, but the running simulator speaks 8.4.1' })]);
    await sim.close();
    await lock.release();
  });
});
