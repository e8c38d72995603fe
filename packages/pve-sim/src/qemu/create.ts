import { normaliseTags } from './update.js';
import type { Sim } from '../engine/sim.js';
import type { ConfigSection } from '../state/model.js';
import { fail, paramError, permError } from '../http/_errors.js';
import type { Params } from '../http/_router.js';
import { p, pBool } from '../routes/_helpers.js';
import { isDriveKey } from './config-schema.js';
import { checkModifyConfigPerm, checkPoolExists, checkSerialPerm, validateSshKeys } from './perms.js';
import { checkBridgeAccess, checkDriveParams, checkStorageAccess, createDisks } from './disks.js';
import { defaultBootOrder, normaliseDescription, parseNet, printNet } from './vmconf.js';
import { randomMac, randomUuid } from '../util/_prng.js';
import { uriUnescape } from '../util/_list.js';
import { removeVolume, volid } from '../storage/volumes.js';
import { addVmToPool } from '../routes/pools.js';
import { doStart } from './power.js';
import { startRestore } from './restore.js';

/** Parameters of `POST /qemu` that are not config keys. */
export const CREATE_EXTRAS = ['node', 'vmid', 'archive', 'bwlimit', 'force', 'pool', 'start', 'storage', 'unique', 'live-restore', 'import-working-storage'] as const;

export function configParams(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if ((CREATE_EXTRAS as readonly string[]).includes(k) || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : v.join(',');
  }
  return out;
}

/** `$resolve_cdrom_alias`. */
export function resolveCdromAlias(params: Record<string, string>): void {
  const v = params['cdrom'];
  if (v !== undefined) {
    params['ide2'] = /media=/.test(v) ? v : `${v},media=cdrom`;
    delete params['cdrom'];
  }
}

/** `add_random_macs`: every NIC gets a MAC and its canonical print form. */
export function addRandomMacs(sim: Sim, params: Record<string, string>): void {
  for (const k of Object.keys(params)) {
    if (!/^net\d+$/.test(k)) continue;
    const net = parseNet(params[k]!);
    if (!net) continue;
    net['macaddr'] ??= randomMac(sim.rng);
    params[k] = printNet(net);
  }
}

/** `check_vmid_unused` wording for create/restore. */
export function assertVmidUnused(sim: Sim, vmid: number, prefix: string): void {
  const existing = sim.vm(vmid);
  if (existing) fail(`${prefix} VM ${vmid} already exists on node '${existing.node}'`);
}

export function newVmRecord(sim: Sim, node: string, vmid: number, conf: ConfigSection): void {
  sim.state.vms[String(vmid)] = {
    vmid,
    node,
    conf,
    pending: {},
    cloudinit: {},
    snapshots: {},
    runtime: { status: 'stopped', createdAt: sim.now(), changedAt: sim.now() },
  };
}

/**
 * `POST /nodes/{node}/qemu` (create; restore when `archive` is given): checks and the
 * `lock: create` placeholder config happen before the UPID is returned; disks, the final config
 * and an optional start happen in the `qmcreate` task.
 */
export function createVm(sim: Sim, principal: string, node: string, params: Params): string {
  const vmid = Number(p(params, 'vmid'));
  const pool = p(params, 'pool');
  const storage = p(params, 'storage');
  const archive = p(params, 'archive');
  const conf = configParams(params);

  if (conf['sshkeys'] !== undefined) validateSshKeys(uriUnescape(conf['sshkeys']));
  if (pool !== undefined) checkPoolExists(sim, pool);
  if (storage !== undefined) sim.access.check(principal, `/storage/${storage}`, ['Datastore.AllocateSpace']);
  const exists = sim.vm(vmid) !== undefined;
  const allowed =
    sim.access.has(principal, `/vms/${vmid}`, ['VM.Allocate']) ||
    (pool !== undefined && sim.access.has(principal, `/pool/${pool}`, ['VM.Allocate'])) ||
    (archive !== undefined && pBool(params, 'force') && exists && sim.access.has(principal, `/vms/${vmid}`, ['VM.Backup']));
  if (!allowed) permError();

  if (archive !== undefined) {
    for (const k of Object.keys(conf).sort()) if (isDriveKey(k)) paramError({ [k]: "option conflicts with option 'archive'" });
    return startRestore(sim, principal, node, vmid, archive, params, conf);
  }

  if (Object.keys(conf).length > 0) {
    resolveCdromAlias(conf);
    checkStorageAccess(sim, principal, vmid, conf, storage);
    checkModifyConfigPerm(sim, principal, vmid, pool, Object.keys(conf));
    checkSerialPerm(sim, principal, vmid, pool, conf);
    checkBridgeAccess(sim, principal, conf);
    checkDriveParams(sim, conf);
    addRandomMacs(sim, conf);
  }
  assertVmidUnused(sim, vmid, `unable to create VM ${vmid} -`);
  newVmRecord(sim, node, vmid, { lock: 'create' });
  const start = pBool(params, 'start') ?? false;

  return sim.tasks.start({
    node,
    type: 'qmcreate',
    id: String(vmid),
    user: principal,
    selfTimed: true,
    work: async (task) => {
      await sim.withConfigLock(
        vmid,
        async () => {
          await task.simulate();
          const vm = sim.vm(vmid)!;
          const final: ConfigSection = {};
          for (const [k, v] of Object.entries(conf)) final[k] = k === 'description' ? normaliseDescription(v) : v;
          if (final['description'] === '') delete final['description'];
          final['meta'] = `creation-qemu=${sim.options.pve.qemu.version},ctime=${sim.nowS()}`;
          let allocated: Awaited<ReturnType<typeof createDisks>>['allocated'] = [];
          try {
            const res = await createDisks(
              { sim, principal, node, vmid, existing: [], defaultStorage: storage, task, template: final['template'] === '1' },
              conf,
            );
            allocated = res.allocated;
            Object.assign(final, res.created);
            if (!final['boot']) {
              // PVE writes `boot: ` for a VM without devices, which its own parser then drops
              // ("unable to parse value of 'boot'"): a client never reads an empty boot.
              const order = defaultBootOrder(final);
              if (order) final['boot'] = order;
              else delete final['boot'];
            }
            if (!final['smbios1']) final['smbios1'] = `uuid=${randomUuid(sim.rng)}`;
            if ((final['vmgenid'] === undefined || final['vmgenid'] === '1') && final['arch'] !== 'aarch64') final['vmgenid'] = randomUuid(sim.rng);
            // qemu-server 9 normalises tags at create as updates always did; 8.x keeps them verbatim
            if (final['tags'] !== undefined && sim.options.pve.tagsNormalisedAtCreate) final['tags'] = normaliseTags(final['tags']);
          } catch (err) {
            for (const v of allocated) await removeVolume(sim, node, volid(v));
            delete sim.state.vms[String(vmid)];
            throw new Error(`unable to create VM ${vmid} - ${(err as Error).message}`);
          }
          vm.conf = final;
          if (pool) addVmToPool(sim, vmid, pool);
        },
        { timeout: 'create' },
      );
      await sim.save();
      if (start) {
        task.log('Execute autostart');
        try {
          await doStart(sim, node, vmid, task);
        } catch (err) {
          task.warn((err as Error).message);
        }
      }
    },
  });
}
