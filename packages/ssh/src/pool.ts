import { SshConnection, openJump, type JumpLink } from './connection.js';
import type { Ssh2Client } from './_client.js';
import { describeEndpoint, targetKey, type SshTarget } from './target.js';

export interface SshPoolOptions {
  /** Connections open at once across all hosts; the least recently used idle one is closed to make room. Default 16. */
  readonly maxConnections?: number;
  /** How to open a connection (tests inject failures here). */
  readonly open?: (target: SshTarget) => Promise<SshConnection>;
}

export interface PoolStats {
  readonly opened: number;
  readonly reused: number;
  readonly open: number;
}

interface JumpEntry {
  readonly pending: Promise<Ssh2Client>;
  refs: number;
  closed: boolean;
}

interface Slot {
  readonly key: string;
  connection?: SshConnection;
  pending?: Promise<SshConnection>;
  lastUsed: number;
}

/**
 * One persistent connection per host, shared by every layer in the run. Concurrent `get`s for
 * the same host wait for the same handshake; a connection that dropped is replaced on the next
 * `get`, which is how a re-run after a network failure picks up.
 */
export class SshPool {
  private readonly slots = new Map<string, Slot>();
  private readonly max: number;
  private readonly openFn: (target: SshTarget) => Promise<SshConnection>;
  private readonly waiters: (() => void)[] = [];
  private readonly jumps = new Map<string, JumpEntry>();
  private counters = { opened: 0, reused: 0 };

  constructor(options: SshPoolOptions = {}) {
    this.max = options.maxConnections ?? 16;
    this.openFn = options.open ?? (async (t) => SshConnection.open(t, t.jump ? { jump: await this.leaseJump(t) } : {}));
  }

  /**
   * One connection to each jump host, shared by every guest behind it (each guest is a
   * `direct-tcpip` channel on it): ten guests cost one jump handshake, not ten. It closes when
   * the last guest connection using it closes.
   */
  private async leaseJump(target: SshTarget): Promise<JumpLink> {
    const key = `${describeEndpoint(target.jump!)}|${target.knownHostsFile}`;
    let entry = this.jumps.get(key);
    if (!entry || entry.closed) {
      const created: JumpEntry = {
        refs: 0,
        closed: false,
        pending: openJump(target).then((l) => {
          l.client.setMaxListeners(0);
          return l.client;
        }),
      };
      entry = created;
      this.jumps.set(key, created);
      created.pending.then(
        (client) =>
          client.once('close', () => {
            created.closed = true;
            if (this.jumps.get(key) === created) this.jumps.delete(key);
          }),
        () => this.jumps.delete(key),
      );
    }
    const lease = entry;
    const client = await lease.pending;
    lease.refs += 1;
    return {
      client,
      release: () => {
        lease.refs -= 1;
        if (lease.refs <= 0) {
          client.end();
          if (this.jumps.get(key) === lease) this.jumps.delete(key);
        }
      },
    };
  }

  get stats(): PoolStats {
    return { ...this.counters, open: [...this.slots.values()].filter((s) => s.connection?.isOpen).length };
  }

  async get(target: SshTarget): Promise<SshConnection> {
    const key = targetKey(target);
    const slot = this.slots.get(key);
    if (slot?.connection?.isOpen) {
      slot.lastUsed = Date.now();
      this.counters.reused += 1;
      return slot.connection;
    }
    if (slot?.pending) return slot.pending;
    if (slot) this.slots.delete(key);
    await this.makeRoom();
    const fresh: Slot = { key, lastUsed: Date.now() };
    this.slots.set(key, fresh);
    fresh.pending = this.openFn(target).then(
      (connection) => {
        delete fresh.pending;
        fresh.connection = connection;
        this.counters.opened += 1;
        connection.once('close', () => this.release(fresh));
        return connection;
      },
      (error: unknown) => {
        this.release(fresh);
        throw error;
      },
    );
    return fresh.pending;
  }

  /** Close every connection cleanly. */
  async closeAll(): Promise<void> {
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(all.map(async (s) => (s.connection ?? (await s.pending?.catch(() => undefined)))?.close()));
    for (const wake of this.waiters.splice(0)) wake();
  }

  private release(slot: Slot): void {
    if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
    this.waiters.shift()?.();
  }

  private async makeRoom(): Promise<void> {
    while (this.slots.size >= this.max) {
      const idle = [...this.slots.values()]
        .filter((s) => s.connection && !s.connection.busy)
        .sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idle?.connection) {
        this.slots.delete(idle.key);
        await idle.connection.close();
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
