import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLabError } from '@lab/core';
import { ensureInotifyRoom, INOTIFY_PER_GUEST } from '../src/guests/inotify.js';

/** The host's inotify limit against the guests asked for (issue #19 item 6). */
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function limitFile(value: number): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'lab-inotify-'));
  const file = join(dir, 'max_user_instances');
  await writeFile(file, `${value}\n`);
  return file;
}

describe('ensureInotifyRoom', () => {
  it('leaves a limit with room alone', async () => {
    const file = await limitFile(128);
    const room = ensureInotifyRoom(10, { limitFile: file, inUse: 20, root: true });
    expect(room).toEqual({ limit: 128, inUse: 20, needed: 20 + 10 * INOTIFY_PER_GUEST });
    expect(await readFile(file, 'utf8')).toBe('128\n');
  });

  it('raises a short limit as root and says from what to what', async () => {
    const file = await limitFile(128);
    const room = ensureInotifyRoom(20, { limitFile: file, inUse: 40, root: true });
    expect(room.raisedFrom).toBe(128);
    expect(room.limit).toBeGreaterThanOrEqual(2 * (40 + 20 * INOTIFY_PER_GUEST));
    expect(Number(await readFile(file, 'utf8'))).toBe(room.limit);
  });

  it('refuses without root, naming the limit and the command that fixes it', async () => {
    const file = await limitFile(128);
    let caught: unknown;
    try {
      ensureInotifyRoom(20, { limitFile: file, inUse: 40, root: false });
    } catch (error) {
      caught = error;
    }
    expect(isLabError(caught)).toBe(true);
    if (!isLabError(caught)) return;
    expect(caught.code).toBe('LAB_SIM_INOTIFY_LIMIT');
    expect(caught.summary).toContain('fs.inotify.max_user_instances is 128');
    expect(caught.hint).toMatch(/sysctl -w fs\.inotify\.max_user_instances=\d+/);
    expect(await readFile(file, 'utf8')).toBe('128\n');
  });

  it('has nothing to check without procfs', () => {
    expect(ensureInotifyRoom(100, { limitFile: '/nonexistent/limit', inUse: 0 }).needed).toBe(0);
  });
});
