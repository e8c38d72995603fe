import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '@lab/core';
import type { ClusterState } from './model.js';

/** Write `data` to `file` atomically: a temp file in the same directory, fsync, rename. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * The cluster state document and its file. Mutations happen in memory; `flush()` persists the
 * latest state, coalescing concurrent requests into at most one pending write so a burst of
 * changes costs two writes, not one per change.
 */
export class StateStore {
  private writing: Promise<void> | undefined;
  private again = false;
  /** Checked before every write: false once another process took the state dir over. */
  private guard: (() => Promise<boolean>) | undefined;

  private constructor(
    readonly dir: string,
    readonly state: ClusterState,
  ) {}

  static file(dir: string): string {
    return path.join(dir, 'state.json');
  }

  static async open(dir: string, init: () => ClusterState): Promise<{ store: StateStore; fresh: boolean }> {
    await mkdir(dir, { recursive: true });
    let state: ClusterState;
    let fresh = false;
    try {
      state = JSON.parse(await readFile(StateStore.file(dir), 'utf8')) as ClusterState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      state = init();
      fresh = true;
    }
    const store = new StateStore(dir, state);
    if (fresh) await store.flush();
    return { store, fresh };
  }

  /** Write only while `held()` says this process still owns the state dir (see owner-lock.ts). */
  guardWith(held: () => Promise<boolean>): void {
    this.guard = held;
  }

  /** Absolute path of a file kept beside the state (volume bytes, certificates). */
  resolve(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  flush(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      try {
        do {
          this.again = false;
          if (this.guard && !(await this.guard())) {
            throw new LabError({
              code: 'LAB_SIM_STATE_LOST',
              summary: `this simulator no longer owns ${this.dir}: another process took its lock over`,
              detail: 'the state is not written, so nothing the other owner wrote is overwritten',
              hint: 'stop this simulator; the current owner serves the state dir',
            });
          }
          await writeFileAtomic(StateStore.file(this.dir), JSON.stringify(this.state));
        } while (this.again);
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }
}
