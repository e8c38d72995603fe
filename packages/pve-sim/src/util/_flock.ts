/**
 * In-process stand-in for PVE's `flock`-based config locks (`lock_file_full`): shared and
 * exclusive holders per key, waiters queue, and a wait that exceeds its timeout fails with
 * PVE's text `can't lock file '<path>' - got timeout`.
 */
export type LockMode = 'shared' | 'exclusive';

interface Waiter {
  readonly mode: LockMode;
  readonly grant: () => void;
}

interface LockState {
  exclusive: boolean;
  shared: number;
  readonly queue: Waiter[];
}

export class FlockTimeout extends Error {
  constructor(readonly path: string) {
    super(`can't lock file '${path}' - got timeout`);
  }
}

export class FlockTable {
  private readonly locks = new Map<string, LockState>();

  /** Run `fn` holding `path` in `mode`; waits up to `timeoutMs` for the lock. */
  async with<T>(path: string, mode: LockMode, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(path, mode, timeoutMs);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  acquire(path: string, mode: LockMode, timeoutMs: number): Promise<() => void> {
    const st = this.state(path);
    const free = mode === 'shared' ? !st.exclusive && st.queue.length === 0 : !st.exclusive && st.shared === 0;
    if (free) {
      this.take(st, mode);
      return Promise.resolve(this.releaser(path, mode));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        mode,
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser(path, mode));
        },
      };
      const timer = setTimeout(() => {
        const i = st.queue.indexOf(waiter);
        if (i >= 0) st.queue.splice(i, 1);
        reject(new FlockTimeout(path));
      }, timeoutMs);
      st.queue.push(waiter);
    });
  }

  isHeld(path: string): boolean {
    const st = this.locks.get(path);
    return !!st && (st.exclusive || st.shared > 0);
  }

  private state(path: string): LockState {
    let st = this.locks.get(path);
    if (!st) {
      st = { exclusive: false, shared: 0, queue: [] };
      this.locks.set(path, st);
    }
    return st;
  }

  private take(st: LockState, mode: LockMode): void {
    if (mode === 'exclusive') st.exclusive = true;
    else st.shared++;
  }

  private releaser(path: string, mode: LockMode): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const st = this.state(path);
      if (mode === 'exclusive') st.exclusive = false;
      else st.shared--;
      this.drain(path, st);
    };
  }

  private drain(path: string, st: LockState): void {
    while (st.queue.length > 0) {
      const head = st.queue[0]!;
      const ok = head.mode === 'shared' ? !st.exclusive : !st.exclusive && st.shared === 0;
      if (!ok) break;
      st.queue.shift();
      this.take(st, head.mode);
      head.grant();
      if (head.mode === 'exclusive') break;
    }
    if (!st.exclusive && st.shared === 0 && st.queue.length === 0) this.locks.delete(path);
  }
}
