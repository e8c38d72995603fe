import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { VmRecord } from '../state/model.js';
import { ApiError, fail, paramError } from '../http/_errors.js';
import type { Params } from '../http/_router.js';
import { p, pBool, pInt } from '../routes/_helpers.js';
import { isDriveKey, optionExists } from './config-schema.js';
import { checkModifyConfigPerm, validateSshKeys } from './perms.js';
import { checkBridgeAccess, checkDriveParams, checkStorageAccess, createDisks } from './disks.js';
import {
  addToPendingDelete,
  bootOrder,
  checkLock,
  checkProtection,
  digestOf,
  isCdrom,
  isCloudinitDrive,
  loadVm,
  memoryMiB,
  normaliseDescription,
  parseDrive,
  removeFromPendingDelete,
} from './vmconf.js';
import { addRandomMacs, resolveCdromAlias } from './create.js';
import { splitList, uriUnescape } from '../util/_list.js';
import { randomUuid } from '../util/_prng.js';
import { applyPending, hotplugFeatures, hotplugPending, registerUnusedDrive } from './pending.js';
import { cryptPassword, isCryptHash } from '../access/passwords.js';
import { removeVolume } from '../storage/volumes.js';
import { ROOT } from '../access/acl.js';
import { hasCloudinitDrive } from './vmconf.js';

const WINDOWS = /^(wxp|w2k|w2k3|w2k8|wvista|win7|win8|win10|win11)$/;
const NON_CONFIG = ['node', 'vmid', 'digest', 'background_delay', 'skip_cloud_init', 'import-working-storage', 'skiplock', 'delete', 'revert', 'force'];

/** `get_unique_tags`: split, lower-case, de-duplicate, sort case-insensitively, join with `;`. */
export function normaliseTags(value: string): string {
  const tags = new Set<string>();
  for (const t of splitList(value)) tags.add(t.toLowerCase());
  return [...tags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(';');
}

function cleanupPending(vm: VmRecord): void {
  for (const k of Object.keys(vm.pending)) {
    if (k !== 'delete' && vm.conf[k] === vm.pending[k]) delete vm.pending[k];
  }
}

/**
 * `$update_vm_api`: the checks shared by `PUT …/config` (sync) and `POST …/config` (task);
 * returns the work to run (directly or in a `qmconfig` task).
 */
export function prepareUpdate(sim: Sim, principal: string, node: string, params: Params): { vmid: number; work: (task: TaskHandle | undefined) => Promise<void>; backgroundDelay?: number } {
  const vmid = Number(p(params, 'vmid'));
  const digest = p(params, 'digest');
  const skiplock = pBool(params, 'skiplock') ?? false;
  const force = pBool(params, 'force') ?? false;
  const deleteStr = p(params, 'delete');
  const revertStr = p(params, 'revert');
  const param: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || NON_CONFIG.includes(k)) continue;
    param[k] = typeof v === 'string' ? v : v.join(',');
  }
  const logParts: string[] = [];
  for (const [k, v] of Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (v === undefined || ['node', 'vmid', 'digest', 'background_delay', 'skip_cloud_init', 'import-working-storage'].includes(k)) continue;
    logParts.push(`-${k}`, k === 'cipassword' ? '<hidden>' : String(v));
  }
  if (skiplock && principal !== ROOT) paramError({ skiplock: 'Only root may use this option.' });
  if (param['sshkeys'] !== undefined) validateSshKeys(uriUnescape(param['sshkeys']));
  if (!deleteStr && !revertStr && Object.keys(param).length === 0) fail('no options specified');
  resolveCdromAlias(param);

  const revert = new Set<string>();
  for (const opt of splitList(revertStr)) {
    if (!optionExists(opt)) paramError({ revert: `unknown option '${opt}'` });
    if (param[opt] !== undefined) paramError({ delete: `you can't use '-${opt}' and -revert ${opt}' at the same time` });
    revert.add(opt);
  }
  const deletes: string[] = [];
  for (let opt of splitList(deleteStr)) {
    if (opt === 'cdrom') opt = 'ide2';
    if (param[opt] !== undefined) paramError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
    if (revert.has(opt)) paramError({ revert: `you can't use '-delete ${opt}' and -revert ${opt}' at the same time` });
    if (!optionExists(opt)) paramError({ delete: `unknown option '${opt}'` });
    deletes.push(opt);
  }
  checkDriveParams(sim, param);
  addRandomMacs(sim, param);
  if (param['vmgenid'] === '1') param['vmgenid'] = randomUuid(sim.rng);
  checkModifyConfigPerm(sim, principal, vmid, undefined, deletes);
  checkModifyConfigPerm(sim, principal, vmid, undefined, Object.keys(param));
  checkStorageAccess(sim, principal, vmid, param, undefined);
  checkBridgeAccess(sim, principal, param);

  const vm = loadVm(sim, node, vmid);
  if (digest && digest !== digestOf(vm)) fail('checksum mismatch (file change by other user?)');
  if (!skiplock) checkLock(vm.conf);
  for (const opt of revert) {
    if (vm.conf[opt] !== undefined) param[opt] = vm.conf[opt]!;
    else if (vm.pending[opt] !== undefined) deletes.push(opt);
  }
  if (param['memory'] !== undefined || param['balloon'] !== undefined) {
    const mem = memoryMiB({ memory: param['memory'] ?? vm.pending['memory'] ?? vm.conf['memory'] ?? '512' });
    const balloon = Number(param['balloon'] ?? vm.pending['balloon'] ?? vm.conf['balloon'] ?? 0);
    if (balloon && balloon > mem) fail('balloon value too large (must be smaller than assigned memory)');
  }

  const work = async (task: TaskHandle | undefined): Promise<void> => {
    const print = (line: string): void => task?.log(line);
    print(`update VM ${vmid}: ${logParts.join(' ')}`);
    const current = sim.vm(vmid);
    if (!current) throw new Error(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    const checkDrivePerm = (key: string, value: string): void => {
      const d = parseDrive(key, value);
      if (!d) return;
      if (isCloudinitDrive(d)) sim.access.checkVm(principal, vmid, undefined, ['VM.Config.Cloudinit', 'VM.Config.CDROM']);
      else if (isCdrom(d)) sim.access.checkVm(principal, vmid, undefined, ['VM.Config.CDROM']);
      else sim.access.checkVm(principal, vmid, undefined, ['VM.Config.Disk']);
    };
    let order = bootOrder(current.conf);
    const bootDeleted = deletes.includes('boot');
    for (const opt of deletes) {
      const val = current.conf[opt] ?? current.pending[opt];
      if (val === undefined) {
        task?.warn(`cannot delete '${opt}' - not set in current configuration!`);
        continue;
      }
      const isPendingVal = current.pending[opt] !== undefined;
      delete current.pending[opt];
      if (!bootDeleted && order.includes(opt)) {
        order = order.filter((d) => d !== opt);
        current.pending['boot'] = order.length > 0 ? `order=${order.join(';')}` : '';
      }
      if (/^unused\d+$/.test(opt)) {
        checkProtection(current.conf, `can't remove unused disk '${val}'`);
        sim.access.checkVm(principal, vmid, undefined, ['VM.Config.Disk']);
        const owner = /(?:^|[:/])(?:vm|base)-(\d+)-/.exec(val)?.[1];
        if (owner !== undefined && Number(owner) === vmid) {
          sim.access.check(principal, `/storage/${val.split(':')[0]}`, ['Datastore.AllocateSpace']);
          await removeVolume(sim, node, val);
        }
        delete current.conf[opt];
      } else if (isDriveKey(opt)) {
        checkProtection(current.conf, `can't remove drive '${opt}'`);
        checkDrivePerm(opt, val);
        if (isPendingVal) await registerUnusedDrive(sim, current, val, opt);
        addToPendingDelete(current, opt, force);
      } else if (opt === 'tags') {
        delete current.conf[opt];
      } else {
        addToPendingDelete(current, opt, force);
      }
    }
    for (const [opt, value] of Object.entries(param)) {
      if (current.pending[opt] !== undefined && current.pending[opt] === value) continue;
      if (isDriveKey(opt)) {
        if (current.conf[opt] !== undefined) checkDrivePerm(opt, current.conf[opt]!);
        checkDrivePerm(opt, value);
        if (current.pending[opt] !== undefined) await registerUnusedDrive(sim, current, current.pending[opt]!, opt);
        const { created } = await createDisks(
          { sim, principal, node, vmid, existing: [current.conf, current.pending], defaultStorage: undefined, task: task ?? nullTask, template: current.conf['template'] === '1' },
          { [opt]: value },
        );
        Object.assign(current.pending, created);
        if (order.length > 0) {
          const d = parseDrive(opt, value);
          if (d && isCdrom(d) && !order.includes(opt)) {
            order.push(opt);
            current.pending['boot'] = order.length > 0 ? `order=${order.join(';')}` : '';
          }
        }
      } else if (opt === 'tags') {
        current.pending[opt] = normaliseTags(value);
      } else if (opt === 'cipassword') {
        current.conf[opt] = WINDOWS.test(current.conf['ostype'] ?? '') || isCryptHash(value) ? value : cryptPassword(value, sim.rng.bytes(6).toString('base64'));
      } else if (opt === 'description') {
        current.pending[opt] = normaliseDescription(value);
      } else {
        current.pending[opt] = value;
        if (opt === 'boot') {
          const devs = splitList(/(?:^|,)order=([^,]+)/.exec(value)?.[1]);
          if (devs.length > 0) {
            for (const dev of devs) {
              const exists = current.conf[dev] ?? current.pending[dev] ?? param[dev];
              if (exists === undefined || deletes.includes(dev)) throw new Error(`invalid bootorder: device '${dev}' does not exist'`);
            }
            current.pending[opt] = `order=${devs.join(';')}`;
            if (current.conf['bootdisk']) addToPendingDelete(current, 'bootdisk', false);
          }
        }
      }
      removeFromPendingDelete(current, opt);
    }
    cleanupPending(current);
    if (Object.keys(current.pending).length === 0) return;
    if (current.runtime.status !== 'stopped') {
      await hotplugPending(sim, current);
      if (hotplugFeatures(current).has('cloudinit') && Object.keys(current.cloudinit).length > 0 && hasCloudinitDrive(current.conf)) {
        print('generating cloud-init ISO');
        current.cloudinit = {};
      }
    } else {
      await applyPending(sim, current, task);
    }
  };
  const delay = pInt(params, 'background_delay');
  return { vmid, work, ...(delay !== undefined ? { backgroundDelay: delay } : {}) };
}

const nullTask: TaskHandle = { upid: '', log: () => undefined, warn: () => undefined, sleep: async () => undefined, aborted: false, simulate: async () => undefined };

/** `PUT …/config`: everything inside the request; errors become 500/400 answers. */
export async function updateVmSync(sim: Sim, principal: string, node: string, params: Params): Promise<null> {
  const vmid = Number(p(params, 'vmid'));
  await sim.withConfigLock(vmid, async () => {
    const { work } = prepareUpdate(sim, principal, node, params);
    try {
      await work(undefined);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(500, `${(err as Error).message.replace(/\n?$/, '\n')}`);
    }
  });
  return null;
}

/** `POST …/config`: checks now, the change in a `qmconfig` task (or `null` with `background_delay`). */
export async function updateVmAsync(sim: Sim, principal: string, node: string, params: Params): Promise<string | null> {
  const vmid = Number(p(params, 'vmid'));
  const prepared = await sim.withConfigLock(vmid, async () => prepareUpdate(sim, principal, node, params));
  const upid = sim.tasks.start({
    node,
    type: 'qmconfig',
    id: String(vmid),
    user: principal,
    work: (task) => sim.withConfigLock(vmid, () => prepared.work(task)),
  });
  if (prepared.backgroundDelay) {
    const finished = await Promise.race([sim.tasks.wait(upid).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), prepared.backgroundDelay! * 1000))]);
    if (finished) {
      const t = sim.tasks.get(upid);
      if (t?.exitstatus === 'OK' || /^WARNINGS: \d+$/.test(t?.exitstatus ?? '')) return null;
      fail(`failed to update VM ${vmid}: ${t?.exitstatus ?? 'unknown'}`);
    }
  }
  return upid;
}
