import { LabError, runStep, type Change, type Plan, type Reporter } from '@lab/core';
import { ALREADY_EXISTS, apiPath, isPveError, PveTaskError, pveArray, pveRecord, pveString, type PveClient } from '@lab/pve';
import { formatPveSize, parseProps, parsePveSize } from './_props.js';
import { ABSENT, basisKey, hostKeySnippetName, HOLDER_VMID, personaOfDescription, persistentVolumeName } from './identity.js';
import { forgetVm, generateHostKey, hostKeyVendorData, knownNames, pinVmKey, type SnippetWriter } from './hostkey.js';
import { acquireLock, type HeldLock, type LockOptions } from './lock.js';
import { observeVms, readVm } from './observe.js';
import type { VmAfter, VmBefore } from './plan.js';

export interface ApplyVmsContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  /** The lab-managed known_hosts file (absolute). */
  readonly knownHostsFile: string;
  readonly snippets: SnippetWriter;
  readonly lock?: LockOptions;
  /** How long to wait for the guest agent after start. Default 5 min. */
  readonly agentTimeoutMs?: number;
  readonly pollMs?: number;
  /** Task status poll cadence (PVE clients use 1 s; tests go faster). */
  readonly taskPollMs?: number;
}

const NOT_FOUND = (e: { pveMessage: string }): boolean => /does not exist|unable to find configuration/.test(e.pveMessage);
const poll = (ctx: ApplyVmsContext): { pollMs?: number } => (ctx.taskPollMs === undefined ? {} : { pollMs: ctx.taskPollMs });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function personaOf(change: Change): string {
  return change.address.split('/')[0]!;
}

/**
 * Apply exactly `plan` (its L2 changes): take each persona's cluster lock, re-read the VMs and
 * refuse the plan if any config digest moved since it was made (`LAB_PLAN_STALE`), then create,
 * update or destroy. Every step is safe to repeat: a re-run after any failure converges.
 */
export async function applyVms(plan: Plan, ctx: ApplyVmsContext): Promise<void> {
  const changes = plan.changes.filter((c) => c.layer === 'l2' && c.action !== 'noop');
  if (changes.length === 0) return;
  const personas = [...new Set(changes.map(personaOf))].sort();
  const locks: HeldLock[] = [];
  try {
    for (const p of personas) locks.push(await acquireLock(ctx.client, p, ctx.lock));
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
    for (const c of changes) {
      const persona = personaOf(c);
      const after = c.after as VmAfter;
      await runStep(ctx.reporter, `${c.action} VM of ${persona}`, async () => {
        if (c.action === 'create') await createVm(ctx, persona, after);
        else if (c.action === 'update') await updateVm(ctx, persona, after, c.before as VmBefore);
        else if (c.action === 'delete') await destroyVm(ctx, persona, after, c.before as VmBefore);
      }, { address: c.address });
    }
  } finally {
    for (const l of locks.reverse()) await l.release().catch(() => undefined);
  }
}

async function createVm(ctx: ApplyVmsContext, persona: string, a: VmAfter): Promise<void> {
  const { client } = ctx;
  const t = a.template;
  if (!t) throw new LabError({ code: 'LAB_INTERNAL', summary: `create of ${persona} without a template` });
  const vmid = a.vmid ?? (await freeVmid(client, a.avoidVmids ?? []));
  const res = await client.mutate<string>('POST', apiPath('nodes', t.node, 'qemu', String(t.vmid), 'clone'), {
    newid: vmid,
    name: persona,
    full: 1,
    pool: a.pool,
    // The marker travels with the clone, so a VM left half-made by a failure is still found as lab's.
    description: a.config['description'],
  }, { alreadyDone: ALREADY_EXISTS });
  if (res.status === 'done') await client.waitForTask(res.value, { title: `clone template ${t.vmid} → ${vmid} (${persona})`, ...poll(ctx) });
  const read = await waitUnlocked(ctx, t.node, vmid);
  if (personaOf2(read.config) !== persona) {
    throw new LabError({ code: 'LAB_L2_VMID_TAKEN', summary: `VM ${vmid} exists and is not ${persona}'s`, hint: 'choose another vm.vmid, or omit it' });
  }
  await configure(ctx, persona, { ...a, vmid, node: t.node }, read.config, read.digest, [...a.set], a.add, true);
}

/**
 * The next free VMID that no other persona declares. `cluster/nextid` knows only existing VMs,
 * so a declared-but-not-yet-created id would be handed out; `nextid?vmid=N` checks one id.
 */
async function freeVmid(client: ApplyVmsContext['client'], avoid: readonly number[]): Promise<number> {
  const reserved = new Set(avoid);
  let candidate = Number(pveString(await client.get('/cluster/nextid')));
  for (let tries = 0; tries < 1000; tries++, candidate++) {
    if (reserved.has(candidate)) continue;
    try {
      return Number(pveString(await client.get('/cluster/nextid', { vmid: candidate })));
    } catch {
      // taken: PVE answers 400 "VM N already exists"; try the next one
    }
  }
  throw new LabError({ code: 'LAB_L2_NO_VMID', summary: 'found no free VMID within 1000 of cluster/nextid', hint: 'declare vm.vmid for this persona' });
}

function personaOf2(config: Readonly<Record<string, string>>): string | undefined {
  return personaOfDescription(config['description']);
}

/** After a clone the new VM carries `lock: clone` until its task ends; wait it out. */
async function waitUnlocked(ctx: ApplyVmsContext, node: string, vmid: number): Promise<Awaited<ReturnType<typeof readVm>>> {
  for (let i = 0; ; i++) {
    const read = await readVm(ctx.client, node, vmid);
    if (!read.config['lock'] || i > 300) return read;
    await sleep(ctx.pollMs ?? 200);
  }
}

async function updateVm(ctx: ApplyVmsContext, persona: string, a: VmAfter, b: VmBefore): Promise<void> {
  const read = await readVm(ctx.client, b.node, b.vmid);
  await configure(ctx, persona, a, read.config, read.digest, [...a.set], a.add, a.start);
  if (a.reboot) await ctx.client.runTask('POST', apiPath('nodes', b.node, 'qemu', String(b.vmid), 'status', 'reboot'), undefined, { title: `reboot ${persona} to apply pending changes`, ...poll(ctx) });
}

/** Persistent data disks live on as volumes owned by HOLDER_VMID; find or allocate one. */
async function persistentVolume(ctx: ApplyVmsContext, node: string, persona: string, disk: { name: string; storage: string; size: number }): Promise<string> {
  const name = persistentVolumeName(persona, disk.name);
  const base = apiPath('nodes', node, 'storage', disk.storage, 'content');
  const existing = pveArray(await ctx.client.get(base, { vmid: HOLDER_VMID }))
    .map((r) => pveString(pveRecord(r)['volid']))
    .find((v) => v?.endsWith(`:${name}`));
  if (existing) return existing;
  const res = await ctx.client.mutate<string>('POST', base, { vmid: HOLDER_VMID, filename: name, size: `${Math.ceil(disk.size / 2 ** 30)}G` }, { alreadyDone: ALREADY_EXISTS });
  return res.status === 'done' ? res.value : `${disk.storage}:${name}`;
}

/**
 * Write the owned keys (one `PUT config` guarded by the digest read just before), attach data
 * disks, grow disks, then start and wait for the guest agent. A host key is made and pinned
 * whenever `cicustom` is (re)written: known_hosts first, then the snippet, then the config, so
 * a failure at any point leaves nothing that a re-run would not redo.
 */
async function configure(ctx: ApplyVmsContext, persona: string, a: VmAfter & { vmid?: number }, config: Readonly<Record<string, string>>, digest: string, set: string[], add: readonly string[], start: boolean): Promise<void> {
  const { client } = ctx;
  const vmid = a.vmid!;
  const node = a.node;
  const vmPath = apiPath('nodes', node, 'qemu', String(vmid));
  const params: Record<string, string | number> = {};
  if (set.includes('cicustom') || config['cicustom'] === undefined) {
    const key = generateHostKey(`root@${persona}`);
    await pinVmKey(ctx.knownHostsFile, knownNames(persona, a.address), key.publicKey);
    await ctx.snippets.place(node, a.snippetStorage, hostKeySnippetName(persona), hostKeyVendorData(key));
    if (!set.includes('cicustom')) set.push('cicustom');
  }
  for (const k of set) if (a.config[k] !== undefined) params[k] = a.config[k]!;
  for (const slot of add) {
    if (config[slot] !== undefined) continue;
    const disk = a.disks.find((d) => d.slot === slot);
    if (!disk) continue;
    const file = disk.persistent ? await persistentVolume(ctx, node, persona, disk) : `${disk.storage}:${Math.ceil(disk.size / 2 ** 30)}`;
    params[slot] = [file, disk.options].filter(Boolean).join(',');
  }
  if (Object.keys(params).length > 0) await client.put(`${vmPath}/config`, { ...params, digest });
  for (const disk of a.disks) {
    const have = parsePveSize(parseProps(config[disk.slot]).get('size'));
    if (have !== undefined && disk.size > have) {
      await client.runTask('PUT', `${vmPath}/resize`, { disk: disk.slot, size: formatPveSize(disk.size) }, { title: `grow ${persona} ${disk.name} to ${formatPveSize(disk.size)}`, ...poll(ctx) });
    }
  }
  if (start) {
    try {
      await client.runTask('POST', `${vmPath}/status/start`, undefined, { title: `start ${persona}`, ...poll(ctx) });
    } catch (e) {
      if (!(e instanceof PveTaskError && /already running/.test(e.exitstatus))) throw e;
    }
    await waitForAgent(ctx, node, vmid, persona);
  }
}

async function waitForAgent(ctx: ApplyVmsContext, node: string, vmid: number, persona: string): Promise<void> {
  const deadline = Date.now() + (ctx.agentTimeoutMs ?? 300_000);
  await runStep(ctx.reporter, `wait for the guest agent of ${persona}`, async () => {
    for (;;) {
      try {
        await ctx.client.post(apiPath('nodes', node, 'qemu', String(vmid), 'agent', 'ping'), undefined, { attempts: 1 });
        return;
      } catch (e) {
        if (!isPveError(e) || Date.now() > deadline) {
          throw new LabError({ code: 'LAB_L2_AGENT_TIMEOUT', summary: `the guest agent of ${persona} (VM ${vmid}) did not answer`, hint: 'check the VM console; the image must ship qemu-guest-agent', cause: e });
        }
        await sleep(ctx.pollMs ?? 500);
      }
    }
  });
}

async function destroyVm(ctx: ApplyVmsContext, persona: string, a: VmAfter, b: VmBefore): Promise<void> {
  const { client } = ctx;
  const vmPath = apiPath('nodes', b.node, 'qemu', String(b.vmid));
  try {
    await client.runTask('POST', `${vmPath}/status/stop`, undefined, { title: `stop ${persona}`, ...poll(ctx) });
    // Persistent volumes are owned by HOLDER_VMID, so PVE's destroy leaves them; nothing else survives.
    const res = await client.mutate<string>('DELETE', vmPath, { purge: 1, 'destroy-unreferenced-disks': 0 }, { alreadyDone: NOT_FOUND });
    if (res.status === 'done') await client.waitForTask(res.value, { title: `destroy VM ${b.vmid} (${persona})`, ...poll(ctx) });
  } catch (e) {
    if (!(isPveError(e) && NOT_FOUND(e))) throw e;
  }
  if (a.destroyData) {
    for (const disk of a.disks.filter((d) => d.persistent)) {
      const volid = `${disk.storage}:${persistentVolumeName(persona, disk.name)}`;
      try {
        const upid = await client.delete(apiPath('nodes', b.node, 'storage', disk.storage, 'content', volid));
        if (typeof upid === 'string') await client.waitForTask(upid, { title: `delete data disk ${disk.name} of ${persona}`, ...poll(ctx) });
      } catch (e) {
        if (!(isPveError(e) && /does not exist|no such volume/.test(e.pveMessage))) throw e;
      }
    }
  }
  // The snippet holds the private host key of a VM that no longer exists.
  await ctx.snippets.remove?.(b.node, a.snippetStorage, hostKeySnippetName(persona));
  await forgetVm(ctx.knownHostsFile, knownNames(persona, a.address));
}
