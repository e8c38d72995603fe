import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { createDockerBackend, dockerEngineVersion, ensureGuestImage } from '../src/guests/index.js';

/**
 * A guest whose container dies at once (here: an init that exits 3) is reported by the start
 * itself, with its exit code and last log lines, instead of by a wait that runs to its deadline
 * (issue #19 item 6).
 */
const engine = await dockerEngineVersion();
const inCi = process.env.CI === 'true';
if (!engine && !inCi) console.warn('guest-exit.test: no Docker engine answers; skipping (run: sudo tools/docker/ensure-dockerd.sh)');

const TAG = `lab-test-exiting-guest:${process.pid}`;
const instance = `exit-test-${process.pid}`;
const backend = { current: undefined as ReturnType<typeof createDockerBackend> | undefined };

afterAll(async () => {
  await backend.current?.close();
  await backend.current?.destroy(901).catch(() => undefined);
  try {
    execFileSync('docker', ['rmi', '-f', TAG], { stdio: 'ignore' });
  } catch {
    // never built
  }
});

describe.runIf(engine || inCi)('docker guests that exit at start', () => {
  it('fails the start at once with LAB_SIM_GUEST_EXITED, the exit code and the log', { timeout: 600_000 }, async () => {
    const { tag } = await ensureGuestImage();
    const dir = await mkdtemp(join(tmpdir(), 'lab-exit-image-'));
    try {
      await writeFile(
        join(dir, 'Dockerfile'),
        [`FROM ${tag}`, 'RUN rm -f /sbin/init && printf \'#!/bin/sh\\necho "init: no room to boot" >&2\\nexit 3\\n\' > /sbin/init && chmod 0755 /sbin/init', ''].join('\n'),
      );
      execFileSync('docker', ['build', '-q', '-t', TAG, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    backend.current = createDockerBackend({ image: TAG, instance, removeOnClose: true });
    const error = await backend.current.start({ node: 'pve', vmid: 901, name: 'dies', nics: [], agent: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // docker may report the exit a moment after `docker start` returns; then exited() says it.
    const reported = error ?? (await new Promise((r) => setTimeout(r, 2000)).then(() => backend.current!.exited!(901)));
    expect(isLabError(reported)).toBe(true);
    if (!isLabError(reported)) return;
    expect(reported.code).toBe('LAB_SIM_GUEST_EXITED');
    expect(reported.summary).toContain('exited with code 3');
    expect(reported.detail).toContain('init: no room to boot');
    expect(reported.hint).toContain('docker logs');
  });
});
