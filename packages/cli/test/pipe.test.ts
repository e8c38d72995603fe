import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKSPACE } from './_harness.js';

/** Run the real binary with its stdout closed by the reader, as `lab … | head -1` does. */
function closedAfterFirstChunk(...argv: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [join(WORKSPACE, 'packages/cli/bin/lab.mjs'), ...argv, '--root', WORKSPACE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // The reader goes away before lab writes (as `head` does once it has its lines).
  child.stdout.destroy();
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('a closed stdout pipe', () => {
  it('`lab schema | head` ends quietly with the command’s own exit code, no EPIPE stack', async () => {
    const r = await closedAfterFirstChunk('schema');
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toContain('Unhandled');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  }, 60_000);

});
