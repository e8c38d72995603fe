import type { Sim } from '../engine/sim.js';
import type { ConfigSection } from '../state/model.js';
import { fail, paramError } from '../http/_errors.js';
import type { Params } from '../http/_router.js';
import { p, pBool } from '../routes/_helpers.js';
import { isDriveKey } from './config-schema.js';
import { checkLock, isCdrom, isCloudinitDrive, loadVm, loadVmOnNode, parseDrive, parseNet, printDrive, printNet, type Drive } from './vmconf.js';
import { checkPoolExists } from './perms.js';
import { checkBridgeAccess, CLOUDINIT_SIZE } from './disks.js';
import { copyData } from '../storage/volume-data.js';
import { allocImage, findVolume, parseVolid, removeVolume, storageAvailableOn, storageConfig, volid, volumeHasFeature } from '../storage/volumes.js';
import { randomMac, randomUuid } from '../util/_prng.js';
import { formatSize } from '../util/_size.js';
import { addVmToPool } from '../routes/pools.js';
import { newVmRecord } from './create.js';
import { tryParsePropertyString, printPropertyString } from '../schema/property-string.js';
import { SMBIOS1_FORMAT } from './formats.js';

interface ClonePlan {
  readonly newconf: ConfigSection;
  readonly drives: Array<{ key: string; drive: Drive; full: boolean }>;
  readonly oldconf: ConfigSection;
}

/**
 * `POST …/clone`: early checks (source exists and is unlocked, linked/full rules, target id
 * free) before the UPID; in the `qmclone` task the new VM exists with `lock: clone` while disks
 * are linked or copied, then gets its final config.
 */
export function cloneVm(sim: Sim, principal: string, node: string, params: Params): string {
  const vmid = Number(p(params, 'vmid'));
  const newid = Number(p(params, 'newid'));
  const pool = p(params, 'pool');
  const snapname = p(params, 'snapname');
  const storage = p(params, 'storage');
  const format = p(params, 'format');
  let target = p(params, 'target');
  if (target === node || target === 'localhost') target = undefined;
  const running = loadVmOnNode(sim, node, vmid).runtime.status !== 'stopped';

  const loadAndCheck = (): ClonePlan => {
    if (pool !== undefined) checkPoolExists(sim, pool);
    if (target !== undefined && !sim.state.nodes[target]) fail(`no such cluster node '${target}'`);
    if (storage) {
      const cfg = storageConfig(sim, storage);
      if (!storageAvailableOn(cfg, node)) fail(`storage '${storage}' is not available on node '${node}'`);
      if (!cfg.content.includes('images')) paramError({ storage: `storage '${storage}' does not support vm images` });
      if (target && !cfg.shared) fail(`can't clone to non-shared storage '${storage}'`);
    }
    const vm = loadVm(sim, node, vmid);
    checkLock(vm.conf);
    if ((vm.runtime.status !== 'stopped') !== running) fail('unexpected state change');
    if (snapname && !vm.snapshots[snapname]) fail(`snapshot '${snapname}' does not exist`);
    const full = pBool(params, 'full') ?? vm.conf['template'] !== '1';
    if (storage !== undefined && !full) fail("parameter 'storage' not allowed for linked clones");
    if (format !== undefined && !full) fail("parameter 'format' not allowed for linked clones");
    const oldconf = snapname ? vm.snapshots[snapname]! : vm.conf;
    let sharedvm = true;
    for (const [k, v] of Object.entries(oldconf)) {
      if (!isDriveKey(k)) continue;
      const d = parseDrive(k, v);
      if (!d || d.file === 'none') continue;
      const sid = d.file.split(':')[0]!;
      if (!isCdrom(d)) sim.access.check(principal, `/storage/${storage ?? sid}`, ['Datastore.AllocateSpace']);
      if (!sim.state.storage[sid]?.shared) sharedvm = false;
    }
    checkBridgeAccess(sim, principal, oldconf);
    if (target && !sharedvm) fail(`can't clone VM to node '${target}' (VM uses local storage)`);
    if (sim.vm(newid)) fail(`unable to create VM ${newid}: config file already exists`);
    const newconf: ConfigSection = { lock: 'clone' };
    const drives: ClonePlan['drives'] = [];
    for (const opt of Object.keys(oldconf).sort()) {
      const value = oldconf[opt]!;
      if (['parent', 'snaptime', 'vmstate', 'snapstate', 'runningcpu', 'runningmachine'].includes(opt)) continue;
      if (/^unused\d+$/.test(opt)) continue;
      if (full && running && !snapname && opt === 'tpmstate0') fail('cannot clone TPM state while VM is running');
      if (/^net\d+$/.test(opt)) {
        const net = parseNet(value) ?? {};
        net['macaddr'] = randomMac(sim.rng);
        newconf[opt] = printNet(net);
      } else if (isDriveKey(opt)) {
        const drive = parseDrive(opt, value);
        if (!drive) fail(`unable to parse drive options for '${opt}'`);
        if (isCdrom(drive) && !isCloudinitDrive(drive)) {
          newconf[opt] = value;
          continue;
        }
        const { cfg, parsed } = parseVolid(sim, drive.file);
        const what = `clone feature is not supported for${snapname ? ' a snapshot of' : ''} '${drive.file}' (${opt})`;
        const copy = full || isCloudinitDrive(drive) || opt === 'tpmstate0';
        if (copy) {
          if (!volumeHasFeature(cfg, parsed, 'copy', !!snapname)) fail(`Full ${what}`);
        } else if (!volumeHasFeature(cfg, parsed, 'clone', !!snapname)) {
          fail(`Linked ${what}`);
        }
        drives.push({ key: opt, drive, full: copy });
      } else {
        newconf[opt] = value;
      }
    }
    return { newconf, drives, oldconf };
  };

  loadAndCheck();
  return sim.tasks.start({
    node,
    type: 'qmclone',
    id: String(vmid),
    user: principal,
    selfTimed: true,
    work: async (task) => {
      await sim.withConfigLock(
        vmid,
        () =>
          sim.withConfigLock(
            newid,
            async () => {
              const { newconf, drives, oldconf } = loadAndCheck();
              const smbios = tryParsePropertyString(SMBIOS1_FORMAT, newconf['smbios1'] ?? '') ?? {};
              smbios['uuid'] = randomUuid(sim.rng);
              newconf['smbios1'] = printPropertyString(smbios, SMBIOS1_FORMAT);
              if (newconf['vmgenid']) newconf['vmgenid'] = randomUuid(sim.rng);
              delete newconf['template'];
              newconf['name'] = p(params, 'name') ?? `Copy-of-VM-${oldconf['name'] ?? vmid}`;
              if (p(params, 'description')) newconf['description'] = p(params, 'description')!;
              const destNode = target ?? node;
              newVmRecord(sim, node, newid, { lock: 'clone' });
              await sim.save();
              const created: string[] = [];
              try {
                await task.simulate();
                await sim.guests.flush?.(vmid);
                for (const { key, drive, full } of drives) {
                  task.log(`create ${full ? 'full' : 'linked'} clone of drive ${key} (${drive.file})`);
                  const src = findVolume(sim, node, drive.file);
                  const { cfg: srcCfg, storage: srcStorage, parsed } = parseVolid(sim, drive.file);
                  const destStorage = full ? (storage ?? srcStorage) : srcStorage;
                  const destCfg = storageConfig(sim, destStorage);
                  const ci = isCloudinitDrive(drive);
                  const size = ci ? CLOUDINIT_SIZE : (src?.virtualSize ?? src?.size ?? 0);
                  const fmt = destCfg.type === 'lvmthin' ? 'raw' : (format ?? (ci ? 'qcow2' : (parsed.format ?? 'raw')));
                  const vol = await sim.withStorageLock(destStorage, async () =>
                    allocImage(sim, {
                      node,
                      storage: destStorage,
                      vmid: newid,
                      size,
                      format: full ? fmt : srcCfg.type === 'dir' ? 'qcow2' : 'raw',
                      ...(ci ? { name: `vm-${newid}-cloudinit` } : {}),
                      ...(!full ? { parent: parsed.name } : {}),
                      ...(!full && srcCfg.type === 'dir' ? { volnamePrefix: `${parsed.vmid}/${parsed.name}/` } : {}),
                    }),
                  );
                  created.push(volid(vol));
                  // A data disk's bytes go with it (adr/0175); the boot disk is the guest's filesystem.
                  if (src && !ci) await copyData(sim, src, vol, snapname);
                  if (src?.origin) vol.origin = src.origin;
                  if (destCfg.type === 'lvmthin') task.log(`  Logical volume "${vol.volname}" created.`);
                  if (full && !ci) {
                    task.log(`transferred 0.0 B of ${formatSize(size)} (0.00%)`);
                    task.log(`transferred ${formatSize(size)} of ${formatSize(size)} (100.00%)`);
                  }
                  const nd: Record<string, string> = { ...drive, file: volid(vol) };
                  nd['size'] = formatSize(size);
                  newconf[key] = printDrive(key, nd);
                  sim.vm(newid)!.conf = { ...newconf };
                }
                if (sim.guests.cloneFilesystem) await sim.guests.cloneFilesystem(vmid, newid);
                delete newconf['lock'];
                const source = sim.vm(vmid);
                const pendingKeys = Object.keys(source?.pending ?? {}).filter((k) => !snapname && k !== undefined);
                if (pendingKeys.length > 0 && !snapname) task.warn(`found pending changes for '${pendingKeys.join(',')}', discarding for clone`);
                const rec = sim.vm(newid)!;
                rec.conf = newconf;
                rec.node = destNode;
                if (pool) addVmToPool(sim, newid, pool);
              } catch (err) {
                for (const v of created) await removeVolume(sim, node, v);
                delete sim.state.vms[String(newid)];
                throw new Error(`clone failed: ${(err as Error).message}`);
              }
            },
            { timeout: 'clone' },
          ),
        { timeout: 'clone', mode: running ? 'exclusive' : 'shared' },
      );
    },
  });
}
