import { LabError, runStep, type Change, type Plan, type Reporter } from '@lab/core';
import { pveString, readVmCurrent, type PveClient } from '@lab/pve';
import { waitForAgent } from './agent.js';
import type { SnippetWriter } from './hostkey.js';
import { ABSENT, basisKey } from './identity.js';
import { createLimiter, type Limiter, type Parallelism } from './limits.js';
import { acquireLock, type HeldLock, type LockOptions } from './lock.js';
import { observeVms, type Observation } from './observe.js';
import { createVm, destroyVm, updateVm, type OpsContext, type Started } from './operations.js';
import type { VmAfter, VmBefore } from './plan.js';
import { notConvergedError, unconverged } from './verify.js';
import { createVmidAllocator } from './vmid.js';

export interface ApplyVmsContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  /** The lab-managed known_hosts file (absolute). */
  readonly knownHostsFile: string;
  readonly snippets: SnippetWriter;
  readonly lock?: LockOptions;
  /** How many VMs at once, overall and per node (lab.yaml `parallelism`, adr/0160). */
  readonly parallelism?: Parallelism;
  /** How long a VM may boot before its guest agent must answer, counted from the VM's start. Default 5 min. */
  readonly agentTimeoutMs?: number;
  readonly pollMs?: number;
  /** Task status poll cadence (PVE clients use 1 s; tests go faster). */
  readonly taskPollMs?: number;
  /** Receives the limiter (tests and the bench read its peak use). */
  readonly onLimiter?: (limiter: Limiter) => void;
}

function personaOf(change: Change): string {
  return change.address.split('/')[0]!;
}

async function lockAll(ctx: ApplyVmsContext, personas: readonly string[]): Promise<HeldLock[]> {
  // One after another in sorted order (adr/0088): of two runs over overlapping personas one wins
  // whole, instead of each holding half and both giving up.
  const held: HeldLock[] = [];
  try {
    for (const p of personas) held.push(await acquireLock(ctx.client, p, ctx.lock));
  } catch (e) {
    await Promise.all(held.map((l) => l.release().catch(() => undefined)));
    throw e;
  }
  for (const l of held) {
    if (!l.tookOver) continue;
    const h = l.tookOver.holder;
    const why = l.tookOver.why === 'gone' ? `its holder (pid ${h.pid} on ${h.host}) no longer runs` : l.tookOver.why === 'expired' ? 'it had expired' : '--break-lock';
    ctx.reporter.emit({ type: 'log', level: 'warn', message: `took over the lock ${l.poolid} (${why})`, group: l.poolid.replace(/^lab-lock-/, '') });
  }
  return held;
}

/**
 * Apply exactly `plan` (its L2 changes): take each persona's cluster lock, re-read the VMs and
 * refuse the plan if any config digest moved since it was made (`LAB_PLAN_STALE`), then create,
 * update or destroy the VMs side by side (bounded by `parallelism`, agent waits outside the
 * bound), and re-verify. One VM failing does not stop the others; every step is safe to repeat,
 * so a re-run converges. Fails with the VM's own error, `LAB_L2_APPLY_FAILED` when several
 * failed, or `LAB_L2_NOT_CONVERGED` when the cluster does not show what was applied.
 */
export async function applyVms(plan: Plan, ctx: ApplyVmsContext): Promise<void> {
  const changes = plan.changes.filter((c) => c.layer === 'l2' && c.action !== 'noop');
  if (changes.length === 0) return;
  const personas = [...new Set(changes.map(personaOf))].sort();
  const locks = await lockAll(ctx, personas);
  try {
    const vmids = new Map<string, number>();
    for (const c of changes) {
      const id = (c.after as VmAfter | undefined)?.vmid;
      if (id !== undefined) vmids.set(personaOf(c), id);
    }
    const obs = await observeVms(ctx.client, { personas, vmids });
    const moved = personas.filter((p) => (obs.managed.get(p)?.digest ?? ABSENT) !== plan.basis[basisKey(p)]);
    if (moved.length > 0) {
      throw new LabError({
        code: 'LAB_PLAN_STALE',
        summary: `the plan is stale: ${moved.join(', ')} changed on the cluster since it was made`,
        hint: 'make a new plan: lab plan --layer l2 --out plan.json',
      });
    }
    const limiter = createLimiter(ctx.parallelism);
    ctx.onLimiter?.(limiter);
    const ops: OpsContext = { ...ctx, vmids: createVmidAllocator(ctx.client) };
    const results = await Promise.allSettled(changes.map((c) => applyOne(ctx, ops, limiter, c)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ persona: personaOf(changes[i]!), error: r.reason as unknown }] : []));
    const done = changes.filter((_, i) => results[i]!.status === 'fulfilled');
    const missing = done.length === 0 ? [] : unconverged(done, await reobserve(ctx.client, done, vmids));
    if (failures.length === 1 && missing.length === 0) throw failures[0]!.error;
    if (failures.length > 0) throw applyFailed(failures, missing, changes.length);
    if (missing.length > 0) throw notConvergedError(missing);
  } finally {
    for (const l of locks.reverse()) await l.release().catch(() => undefined);
  }
}

/**
 * The cluster as it is now, for re-verification. `cluster/resources` carries the status pvestatd
 * last broadcast (up to ~10 s old), so the status of each VM is read from `status/current`.
 */
async function reobserve(client: PveClient, done: readonly Change[], vmids: ReadonlyMap<string, number>): Promise<Observation> {
  const dataStorages = [...new Set(done.flatMap((c) => (c.after as VmAfter).disks.filter((d) => d.persistent).map((d) => d.storage)))];
  const obs = await observeVms(client, { personas: done.map(personaOf), vmids, dataStorages });
  const managed = new Map(obs.managed);
  await Promise.all(
    [...managed.values()].map(async (vm) => {
      const r = await readVmCurrent(client, vm);
      managed.set(vm.persona, { ...vm, status: pveString(r['status']) ?? vm.status });
    }),
  );
  return { ...obs, managed };
}

/** One VM: its work inside a slot of its node, then the agent wait outside any slot. */
async function applyOne(ctx: ApplyVmsContext, ops: OpsContext, limiter: Limiter, c: Change): Promise<void> {
  const persona = personaOf(c);
  const after = c.after as VmAfter;
  const before = c.before as VmBefore | undefined;
  const node = before?.node ?? after.template?.node ?? after.node;
  const started = await limiter.run(node, () =>
    runStep(ctx.reporter, `${c.action} VM of ${persona}`, async (): Promise<Started | undefined> => {
      if (c.action === 'create') return createVm(ops, persona, after);
      if (c.action === 'update') return updateVm(ops, persona, after, before!);
      if (c.action === 'delete') await destroyVm(ops, persona, after, before);
      return undefined;
    }, { address: c.address, group: persona }),
  );
  if (started) {
    await waitForAgent({ client: ctx.client, reporter: ctx.reporter, ...(ctx.agentTimeoutMs === undefined ? {} : { bootBudgetMs: ctx.agentTimeoutMs }), ...(ctx.pollMs === undefined ? {} : { pollMs: ctx.pollMs }), ...(ctx.taskPollMs === undefined ? {} : { taskPollMs: ctx.taskPollMs }) }, started.node, started.vmid, persona);
  }
}

function applyFailed(failures: readonly { persona: string; error: unknown }[], missing: ReturnType<typeof unconverged>, total: number): LabError {
  const line = (f: { persona: string; error: unknown }): string => `${f.persona}: ${f.error instanceof LabError ? `${f.error.code} ${f.error.summary}` : f.error instanceof Error ? f.error.message : String(f.error)}`;
  const names = failures.map((f) => f.persona).join(', ');
  return new LabError({
    code: 'LAB_L2_APPLY_FAILED',
    summary: `${failures.length} of ${total} VM(s) failed: ${names}; the others were applied`,
    detail: [...failures.map(line), ...missing.map((u) => `${u.persona}: not converged: ${u.key} expected ${u.want}, cluster shows ${u.have ?? 'nothing'}`)].join('\n'),
    hint: `fix the cause shown, then re-run (every step is safe to repeat): lab apply --layer l2 --persona ${failures[0]!.persona}`,
    cause: failures[0]!.error,
  });
}
