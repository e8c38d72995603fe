import { encodeUpid } from './upid.js';
import type { TaskRecord } from '../state/model.js';
import type { Sim } from './sim.js';
import { messageOf } from '../http/_errors.js';

/** What a task's work function can do while it runs. */
export interface TaskHandle {
  readonly upid: string;
  log(line: string): void;
  /** A `WARN: …` line; a task with warnings ends `WARNINGS: n`. */
  warn(line: string): void;
  /** Real time passes (scaled by the timing options). */
  sleep(ms: number): Promise<void>;
  readonly aborted: boolean;
  /**
   * Spend this task type's simulated duration now (once). Tasks that declare `selfTimed` call it
   * while holding their locks, so `lock: clone` & co. stay visible for the whole task.
   */
  simulate(): Promise<void>;
}

export interface TaskSpec {
  readonly node: string;
  readonly type: string;
  readonly id: string;
  readonly user: string;
  /** Throwing ends the task with `TASK ERROR: <message>`. */
  readonly work: (task: TaskHandle) => Promise<void>;
  /** The work calls `task.simulate()` itself instead of the registry sleeping up front. */
  readonly selfTimed?: boolean;
}

/** Keeps at most this many finished tasks per node, like PVE's rotating task index. */
const MAX_ARCHIVED = 2000;

/**
 * UPID tasks: the HTTP call returns the UPID as soon as the task is registered; the work runs
 * afterwards and its outcome lands in the task's status and log (`TASK OK` / `TASK ERROR: …`).
 */
export class TaskRegistry {
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new Set<string>();
  private readonly createdMs = new Map<string, number>();

  constructor(private readonly sim: Sim) {}

  start(spec: TaskSpec): string {
    const state = this.sim.state;
    state.counters.pid += 1 + this.sim.rng.int(97);
    const starttime = this.sim.nowS();
    const node = state.nodes[spec.node];
    const pstart = Math.max(1, Math.floor((this.sim.now() - (node?.bootedAt ?? 0)) / 10));
    const upid = encodeUpid({
      node: spec.node,
      pid: state.counters.pid,
      pstart,
      starttime,
      type: spec.type,
      id: spec.id,
      user: spec.user,
    });
    const record: TaskRecord = {
      upid,
      node: spec.node,
      pid: state.counters.pid,
      pstart,
      starttime,
      type: spec.type,
      id: spec.id,
      user: spec.user,
      status: 'running',
      log: [],
    };
    state.tasks.push(record);
    this.createdMs.set(upid, this.sim.now());
    this.trim(spec.node);
    const run = this.run(record, spec).finally(() => this.running.delete(upid));
    this.running.set(upid, run);
    return upid;
  }

  private async run(record: TaskRecord, spec: TaskSpec): Promise<void> {
    let warnings = 0;
    let simulated = false;
    const duration = this.sim.options.timing.taskTypeMs[spec.type] ?? this.sim.options.timing.taskMs;
    const self = this;
    const handle: TaskHandle = {
      upid: record.upid,
      log: (line) => record.log.push(...line.split('\n')),
      warn: (line) => {
        warnings++;
        record.log.push(`WARN: ${line}`);
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      get aborted() {
        return self.aborts.has(record.upid);
      },
      simulate: async () => {
        if (simulated) return;
        simulated = true;
        if (duration > 0) await new Promise((r) => setTimeout(r, duration));
      },
    };
    await new Promise((r) => setImmediate(r));
    let error: string | undefined;
    try {
      if (!spec.selfTimed) await handle.simulate();
      const injected = this.sim.faults.taskFailure(spec.type, spec.id, spec.node);
      if (injected !== undefined) throw new Error(injected);
      await spec.work(handle);
      if (this.aborts.has(record.upid)) throw new Error('received interrupt');
    } catch (err) {
      error = messageOf(err).replace(/\n+$/, '').replace(/\n/g, ' ');
    }
    record.status = 'stopped';
    record.endtime = this.sim.nowS();
    if (error !== undefined) {
      record.exitstatus = error;
      record.log.push(`TASK ERROR: ${error}`);
    } else if (warnings > 0) {
      record.exitstatus = `WARNINGS: ${warnings}`;
      record.log.push(`TASK WARNINGS: ${warnings}`);
    } else {
      record.exitstatus = 'OK';
      record.log.push('TASK OK');
    }
    this.aborts.delete(record.upid);
    this.sim.emit({ kind: 'task-finished', upid: record.upid, exitstatus: record.exitstatus });
    await this.sim.save();
  }

  /** Milliseconds since the task was dispatched by this process (Infinity for older tasks). */
  ageMs(upid: string): number {
    const c = this.createdMs.get(upid);
    return c === undefined ? Number.POSITIVE_INFINITY : this.sim.now() - c;
  }

  get(upid: string): TaskRecord | undefined {
    return this.sim.state.tasks.find((t) => t.upid === upid);
  }

  /** Resolves when the task ends (immediately for unknown or finished tasks). */
  async wait(upid: string): Promise<TaskRecord | undefined> {
    await this.running.get(upid);
    return this.get(upid);
  }

  abort(upid: string): void {
    if (this.running.has(upid)) this.aborts.add(upid);
  }

  /** Wait for every running task (simulator shutdown). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Tasks left `running` by a crash can never finish: PVE reports them as `unexpected status`. */
  reapOrphans(): void {
    for (const t of this.sim.state.tasks) {
      if (t.status === 'running' && !this.running.has(t.upid)) {
        t.status = 'stopped';
        t.exitstatus = 'unexpected status';
        t.endtime = t.endtime ?? this.sim.nowS();
      }
    }
  }

  private trim(node: string): void {
    const tasks = this.sim.state.tasks;
    const mine = tasks.filter((t) => t.node === node && t.status === 'stopped');
    if (mine.length <= MAX_ARCHIVED) return;
    const drop = new Set(mine.slice(0, mine.length - MAX_ARCHIVED).map((t) => t.upid));
    this.sim.state.tasks = tasks.filter((t) => !drop.has(t.upid));
  }
}
