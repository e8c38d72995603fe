import { LabError } from '@lab/core';
import type { Reporter } from '@lab/core';
import { allocateVolume, ALREADY_EXISTS, changeVmPower, deleteVolume, isPveError, listStorageContent, pveRecord, pveString, requestClone, requestVmDelete, resizeVmDisk, updateVmConfig, type PveClient } from '@lab/pve';
import { formatPveSize, parseProps, parsePveSize } from './_props.js';
import { startVm } from './agent.js';
import { forgetVm, generateHostKey, hostKeyVendorData, knownNames, pinVmKey, type SnippetWriter } from './hostkey.js';
import { hostKeySnippetName, HOLDER_VMID, isVolumeOf, personaOfDescription, persistentVolumeName } from './identity.js';
import { readVm } from './observe.js';
import type { VmAfter, VmBefore } from './plan.js';
import type { VmidAllocator } from './vmid.js';

/** What the VM operations need; a subset of ApplyVmsContext. */
export interface OpsContext {
  readonly client: PveClient;
  readonly reporter: Reporter;
  readonly knownHostsFile: string;
  readonly snippets: SnippetWriter;
  readonly pollMs?: number;
  readonly taskPollMs?: number;
  readonly vmids: VmidAllocator;
}

/** What an operation leaves for after its slot is released: a VM to wait for. */
export interface Started {
  readonly node: string;
  readonly vmid: number;
}

const NOT_FOUND = (e: { pveMessage: string }): boolean => /does not exist|unable to find configuration/.test(e.pveMessage);
const poll = (ctx: OpsContext, group?: string): { pollMs?: number; group?: string } => ({ ...(ctx.taskPollMs === undefined ? {} : { pollMs: ctx.taskPollMs }), ...(group ? { group } : {}) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function createVm(ctx: OpsContext, persona: string, a: VmAfter): Promise<Started> {
  const { client } = ctx;
  const t = a.template;
  if (!t) throw new LabError({ code: 'LAB_INTERNAL', summary: `create of ${persona} without a template` });
  let vmid: number;
  let res: Awaited<ReturnType<typeof client.mutate<string>>>;
  for (let attempt = 1; ; attempt++) {
    vmid = a.vmid ?? (await ctx.vmids.next(a.avoidVmids ?? []));
    try {
      res = await requestClone(client, t, {
        newid: vmid,
        name: persona,
        full: 1,
        pool: a.pool,
        // The marker travels with the clone, so a VM left half-made by a failure is still found as lab's.
        description: a.config['description'],
      }, { alreadyDone: ALREADY_EXISTS });
      break;
    } catch (e) {
      // An id from cluster/nextid can be taken before the clone by another process (a second lab
      // command on the same cluster, the web UI): PVE refuses with "config file already exists",
      // and an id lab chose (none declared) is simply chosen again.
      if (a.vmid !== undefined || attempt >= 5 || !isPveError(e) || !/already exists/.test(e.message)) throw e;
    }
  }
  if (res.status === 'done') await client.waitForTask(res.value, { title: `clone template ${t.vmid} → ${vmid} (${persona})`, ...poll(ctx, persona) });
  const read = await waitUnlocked(ctx, t.node, vmid);
  if (personaOfDescription(read.config['description']) !== persona) {
    throw new LabError({ code: 'LAB_L2_VMID_TAKEN', summary: `VM ${vmid} exists and is not ${persona}'s`, hint: 'choose another vm.vmid, or omit it' });
  }
  await configure(ctx, persona, { ...a, vmid, node: t.node }, read.config, read.digest, [...a.set], a.add);
  await startVm(ctx, t.node, vmid, persona);
  return { node: t.node, vmid };
}

/**
 * Proxmox's per-VM lock (`lock: clone` after a clone, `backup` during vzdump, `snapshot`…):
 * wait it out (about a minute) instead of writing into it; past that the write fails with
 * Proxmox's own "VM is locked" and a re-run converges.
 */
async function waitUnlocked(ctx: OpsContext, node: string, vmid: number): Promise<Awaited<ReturnType<typeof readVm>>> {
  for (let i = 0; ; i++) {
    const read = await readVm(ctx.client, node, vmid);
    if (!read.config['lock'] || i > 300) return read;
    await sleep(ctx.pollMs ?? 200);
  }
}

export async function updateVm(ctx: OpsContext, persona: string, a: VmAfter, b: VmBefore): Promise<Started | undefined> {
  const read = await waitUnlocked(ctx, b.node, b.vmid);
  await configure(ctx, persona, a, read.config, read.digest, [...a.set], a.add);
  if (a.remove && a.remove.length > 0) await removeDisks(ctx, persona, a, b);
  if (a.reboot) await changeVmPower(ctx.client, b, 'reboot', undefined, { title: `reboot ${persona} to apply pending changes`, ...poll(ctx, persona) });
  if (!a.start) return undefined;
  await startVm(ctx, b.node, b.vmid, persona);
  return { node: b.node, vmid: b.vmid };
}

/** Persistent data disks live on as volumes owned by HOLDER_VMID: the one the plan found, else find or allocate one. */
async function persistentVolume(ctx: OpsContext, node: string, persona: string, disk: { name: string; storage: string; size: number }, planned: string | undefined): Promise<string> {
  const name = persistentVolumeName(persona, disk.name);
  const volids = (await listStorageContent(ctx.client, node, disk.storage, { vmid: HOLDER_VMID })).map((r) => pveString(pveRecord(r)['volid'])).filter((v): v is string => v !== undefined);
  if (planned) {
    if (volids.includes(planned)) return planned;
    throw new LabError({ code: 'LAB_PLAN_STALE', summary: `data disk ${disk.name} of ${persona}: volume ${planned} the plan would attach is no longer on ${node}`, hint: `make a new plan: lab plan --layer l2 --persona ${persona}` });
  }
  const existing = volids.find((v) => isVolumeOf(v, persona, disk.name) === 'current');
  if (existing) return existing;
  const res = await allocateVolume(ctx.client, node, disk.storage, { vmid: HOLDER_VMID, filename: name, size: `${Math.ceil(disk.size / 2 ** 30)}G` }, { alreadyDone: ALREADY_EXISTS });
  return res.status === 'done' ? res.value : `${disk.storage}:${name}`;
}

/**
 * Write the owned keys (one `PUT config` guarded by the digest read just before), attach data
 * disks and grow disks. A host key is made and pinned whenever `cicustom` is (re)written:
 * known_hosts first, then the snippet, then the config, so a failure at any point leaves nothing
 * that a re-run would not redo.
 */
async function configure(ctx: OpsContext, persona: string, a: VmAfter & { vmid?: number }, config: Readonly<Record<string, string>>, digest: string, set: string[], add: readonly string[]): Promise<void> {
  const { client } = ctx;
  const vmid = a.vmid!;
  const node = a.node;
  const vm = { node, vmid };
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
    const file = disk.persistent ? await persistentVolume(ctx, node, persona, disk, a.attach?.[slot]) : `${disk.storage}:${Math.ceil(disk.size / 2 ** 30)}`;
    params[slot] = [file, disk.options].filter(Boolean).join(',');
  }
  if (Object.keys(params).length > 0) await updateVmConfig(client, vm, { ...params, digest });
  // A disk just attached (a reattached data volume may be smaller than declared now) is grown too.
  const now = add.some((slot) => params[slot] !== undefined) ? (await readVm(client, node, vmid)).config : config;
  for (const disk of a.disks) {
    const have = parsePveSize(parseProps(now[disk.slot]).get('size'));
    if (have !== undefined && disk.size > have) {
      await resizeVmDisk(client, vm, { disk: disk.slot, size: formatPveSize(disk.size) }, { title: `grow ${persona} ${disk.name} to ${formatPveSize(disk.size)}`, ...poll(ctx, persona) });
    }
  }
}

/**
 * Disks no longer declared: detach them (PVE keeps a VM-owned volume as `unusedN`; a
 * persistent one stays owned by HOLDER_VMID) or, with --destroy-data, free them.
 */
async function removeDisks(ctx: OpsContext, persona: string, a: VmAfter, b: VmBefore): Promise<void> {
  for (const r of a.remove ?? []) {
    const read = await waitUnlocked(ctx, b.node, b.vmid);
    if ((read.config[r.slot] ?? '').split(',')[0] === r.volid) {
      await updateVmConfig(ctx.client, b, { delete: r.slot, ...(r.destroy ? { force: 1 } : {}), digest: read.digest });
    }
    if (!r.destroy) continue;
    // `force` frees a VM-owned volume; a persistent one (and a VM-owned one detached earlier) is freed here.
    const after = await readVm(ctx.client, b.node, b.vmid);
    const unused = Object.entries(after.config).find(([k, v]) => /^unused\d+$/.test(k) && v.split(',')[0] === r.volid)?.[0];
    if (unused) await updateVmConfig(ctx.client, b, { delete: unused, digest: after.digest });
    if (r.persistent) await freeVolume(ctx, b.node, r.volid, `delete data disk ${r.volid} of ${persona}`, persona);
  }
}

async function freeVolume(ctx: OpsContext, node: string, volid: string, title: string, persona?: string): Promise<void> {
  const storage = volid.split(':')[0]!;
  try {
    const upid = await deleteVolume(ctx.client, node, storage, volid);
    if (typeof upid === 'string') await ctx.client.waitForTask(upid, { title, ...poll(ctx, persona) });
  } catch (e) {
    if (!(isPveError(e) && /does not exist|no such volume/.test(e.pveMessage))) throw e;
  }
}

export async function destroyVm(ctx: OpsContext, persona: string, a: VmAfter, b: VmBefore | undefined): Promise<void> {
  const { client } = ctx;
  if (!b) {
    // The VM is already gone: only its data volumes are left to free (--destroy-data).
    for (const v of a.freeVolumes ?? []) await freeVolume(ctx, v.node, v.volid, `delete data volume ${v.volid} of ${persona}`, persona);
    return;
  }
  // The volumes the VM really has (a legacy-named one included) are the ones --destroy-data frees.
  const attached = new Map<string, string>();
  for (const disk of a.disks.filter((d) => d.persistent)) {
    const volid = (b.config[disk.slot] ?? '').split(',')[0];
    if (volid && isVolumeOf(volid, persona, disk.name)) attached.set(disk.name, volid);
  }
  try {
    await changeVmPower(client, b, 'stop', undefined, { title: `stop ${persona}`, ...poll(ctx, persona) });
    // Persistent volumes are owned by HOLDER_VMID, so PVE's destroy leaves them; nothing else survives.
    const res = await requestVmDelete(client, b, { purge: 1, 'destroy-unreferenced-disks': 0 }, { alreadyDone: NOT_FOUND });
    if (res.status === 'done') await client.waitForTask(res.value, { title: `destroy VM ${b.vmid} (${persona})`, ...poll(ctx, persona) });
  } catch (e) {
    if (!(isPveError(e) && NOT_FOUND(e))) throw e;
  }
  if (a.destroyData) {
    for (const disk of a.disks.filter((d) => d.persistent)) {
      // Only this persona's own volume: never a name another persona could resolve to (adr/0163).
      const volid = attached.get(disk.name) ?? `${disk.storage}:${persistentVolumeName(persona, disk.name)}`;
      await freeVolume(ctx, b.node, volid, `delete data disk ${disk.name} of ${persona}`, persona);
    }
  }
  // The snippet holds the private host key of a VM that no longer exists.
  await ctx.snippets.remove?.(b.node, a.snippetStorage, hostKeySnippetName(persona));
  await forgetVm(ctx.knownHostsFile, knownNames(persona, a.address));
}
