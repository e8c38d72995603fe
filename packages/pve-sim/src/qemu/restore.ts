import type { Sim } from '../engine/sim.js';
import type { ConfigSection } from '../state/model.js';
import { fail } from '../http/_errors.js';
import type { Params } from '../http/_router.js';
import { p, pBool } from '../routes/_helpers.js';
import { isDriveKey } from './config-schema.js';
import { checkProtection, isCdrom, isCloudinitDrive, parseDrive, parseNet, printDrive, printNet } from './vmconf.js';
import { checkVolumeAccess } from '../routes/node-storage.js';
import { archiveDiskFile, importData } from '../storage/volume-data.js';
import { allocImage, findVolume, removeVolume, storageConfig, volid } from '../storage/volumes.js';
import { readArchive } from './vzdump.js';
import { referencedVolumes } from './disks.js';
import { newVmRecord } from './create.js';
import { randomMac } from '../util/_prng.js';
import { formatSize } from '../util/_size.js';
import { addVmToPool } from '../routes/pools.js';
import { convertToTemplate } from './template.js';
import { doStart } from './power.js';
import { guestCall } from './guest.js';
import { parseVolumeId } from '../storage/volname.js';

/**
 * Restore (`POST /qemu` with `archive`): the VM gets `lock: create` at dispatch (an existing
 * one only with `force`); the `qmrestore` task recreates disks on `storage` (or their original
 * storage), merges config overrides, optionally regenerates MACs, and converts templates back.
 * Over an existing VM only the volumes of restored drives are freed; its other volumes come back
 * as `unusedN`, and drives vzdump excluded (`backup=0`) as comment lines of the description.
 */
export function startRestore(sim: Sim, principal: string, node: string, vmid: number, archive: string, params: Params, overrides: Record<string, string>): string {
  const force = pBool(params, 'force') ?? false;
  const unique = pBool(params, 'unique') ?? false;
  const storage = p(params, 'storage');
  const pool = p(params, 'pool');
  const emsg = `unable to restore VM ${vmid} -`;
  if (pBool(params, 'live-restore')) fail('live-restore is only compatible with backup images from a Proxmox Backup Server');
  checkVolumeAccess(sim, principal, archive, vmid, 'backup');
  if (!parseVolumeId(archive)) fail(`${emsg} unsupported archive path '${archive}'`);
  const existing = sim.vm(vmid);
  if (existing && !force) fail(`${emsg} VM ${vmid} already exists on node '${existing.node}'`);
  if (existing) {
    if (existing.node !== node) fail(`${emsg} VM ${vmid} already exists on node '${existing.node}'`);
    if (existing.conf['lock']) fail(`${emsg} VM is locked (${existing.conf['lock']})`);
    existing.conf['lock'] = 'create';
  } else {
    newVmRecord(sim, node, vmid, { lock: 'create' });
  }
  return sim.tasks.start({
    node,
    type: 'qmrestore',
    id: String(vmid),
    user: principal,
    selfTimed: true,
    work: async (task) => {
      let template = false;
      await sim.withConfigLock(vmid, async () => {
        const vm = sim.vm(vmid)!;
        try {
          await task.simulate();
          checkProtection(vm.conf, emsg);
          if (vm.runtime.status !== 'stopped') throw new Error(`${emsg} vm is running`);
          const vol = findVolume(sim, node, archive);
          if (!vol?.file) throw new Error(`${emsg} volume '${archive}' does not exist`);
          const content = await readArchive(sim.store.resolve(vol.file));
          task.log(`restore vma archive: vma extract -v -r /var/tmp/vzdumptmp.fifo ${archive} /var/tmp/vzdumptmp`);
          task.log(`CFG: size: ${content.configFile.length} name: qemu-server.conf`);
          for (const d of content.disks) task.log(`DEV: dev_id=${content.disks.indexOf(d) + 1} size: ${d.size} devname: drive-${d.key}`);
          task.log(`CTIME: ${new Date(content.ctime * 1000).toString()}`);
          if (existing) {
            await freeRestoredVolumes(sim, node, vm.conf, vm.snapshots, vmid, new Set(content.disks.map((d) => d.key)));
            await guestCall(sim, vmid, 'destroy', undefined, () => sim.guests.destroy(vmid));
          }
          const excludedLines: string[] = [];
          const conf: ConfigSection = {};
          for (const [k, v] of Object.entries(content.conf)) {
            if (['parent', 'lock', 'snaptime', 'vmstate'].includes(k) || /^unused\d+$/.test(k)) continue;
            conf[k] = v;
          }
          for (const [k, v] of Object.entries(conf)) {
            if (!isDriveKey(k)) continue;
            const drive = parseDrive(k, v);
            if (!drive) continue;
            const disk = content.disks.find((d) => d.key === k);
            if (!disk && drive['backup'] === '0') {
              // `restore_update_config_line`: a drive vzdump left out comes back as a comment line.
              excludedLines.push(`${k}: ${v}`);
              delete conf[k];
              continue;
            }
            if (!disk) {
              const kept = existing && parseVolumeId(drive.file) && /vm-\d+-cloudinit/.test(drive.file) ? findVolume(sim, node, drive.file) : undefined;
              if (kept) {
                conf[k] = v;
              } else if (parseVolumeId(drive.file) && /vm-\d+-cloudinit/.test(drive.file)) {
                const st = storage ?? drive.file.split(':')[0]!;
                const cfg = storageConfig(sim, st);
                const ci = allocImage(sim, { node, storage: st, vmid, size: 4 * 1024 * 1024, name: `vm-${vmid}-cloudinit`, format: cfg.type === 'dir' ? 'qcow2' : 'raw' });
                conf[k] = printDrive(k, { ...drive, file: volid(ci) });
              } else if (!drive.file.startsWith(`${drive.file.split(':')[0]}:`) || drive['media'] === 'cdrom') {
                conf[k] = v;
              } else {
                delete conf[k];
              }
              continue;
            }
            const target = storage ?? disk.storage;
            const cfg = storageConfig(sim, target);
            if (!cfg.content.includes('images')) throw new Error(`${emsg} storage '${target}' does not support vm images`);
            const nv = await sim.withStorageLock(target, async () => allocImage(sim, { node, storage: target, vmid, size: disk.size }));
            if (cfg.type === 'lvmthin') task.log(`  Logical volume "${nv.volname}" created.`);
            task.log(`new volume ID is '${volid(nv)}'`);
            await importData(sim, archiveDiskFile(sim.store.resolve(vol.file), k), nv);
            if (disk.origin) nv.origin = disk.origin;
            conf[k] = printDrive(k, { ...drive, file: volid(nv), size: formatSize(disk.size) });
          }
          task.log('progress 100% (read 0 bytes, duration 0 sec)');
          if (excludedLines.length > 0) conf['description'] = [conf['description'], ...excludedLines].filter((l) => l !== undefined && l !== '').join('\n');
          task.log('rescan volumes...');
          rescanUnused(sim, node, vmid, conf);
          for (const [k, v] of Object.entries(overrides)) conf[k] = v;
          if (unique) {
            for (const k of Object.keys(conf)) {
              if (!/^net\d+$/.test(k)) continue;
              const net = parseNet(conf[k]!) ?? {};
              net['macaddr'] = randomMac(sim.rng);
              conf[k] = printNet(net);
            }
          }
          template = conf['template'] === '1';
          delete conf['template'];
          vm.conf = conf;
          vm.pending = {};
          vm.snapshots = {};
          vm.cloudinit = {};
          if (pool) addVmToPool(sim, vmid, pool);
        } catch (err) {
          if (!existing) delete sim.state.vms[String(vmid)];
          else delete vm.conf['lock'];
          throw err;
        }
      });
      if (template) {
        task.warn('Convert to template.');
        await sim.withConfigLock(vmid, async () => convertToTemplate(sim, node, vmid, task, undefined));
      }
      if (pBool(params, 'start') && !template) {
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

const ownedBy = (vmid: number, volid: string): boolean => new RegExp(`(?:^|[:/])(?:vm|base)-${vmid}-`).test(volid);

/**
 * `$restore_cleanup_oldconf` of an overwrite: only the volumes of drives the archive restores
 * are freed (and snapshot RAM states); the VM's other volumes stay, to come back as `unusedN`.
 */
async function freeRestoredVolumes(sim: Sim, node: string, conf: ConfigSection, snapshots: Readonly<Record<string, ConfigSection>>, vmid: number, restoring: ReadonlySet<string>): Promise<void> {
  for (const [k, v] of Object.entries(conf)) {
    if (!isDriveKey(k)) continue;
    const drive = parseDrive(k, v);
    if (!drive || (isCdrom(drive) && !isCloudinitDrive(drive)) || !parseVolumeId(drive.file) || !ownedBy(vmid, drive.file)) continue;
    if (restoring.has(k)) await removeVolume(sim, node, drive.file);
  }
  for (const snap of Object.values(snapshots)) if (snap['vmstate']) await removeVolume(sim, node, snap['vmstate']);
}

/** `rescan`: volumes the VM owns that its new config does not reference become `unusedN`. */
function rescanUnused(sim: Sim, node: string, vmid: number, conf: ConfigSection): void {
  const referenced = referencedVolumes([conf]);
  let slot = 0;
  for (const v of sim.state.volumes) {
    if (v.content !== 'images' || v.vmid !== vmid || (v.node !== node && !sim.state.storage[v.storage]?.shared)) continue;
    const id = volid(v);
    if (referenced.has(id) || /-cloudinit(?:\.\w+)?$/.test(v.volname)) continue;
    while (conf[`unused${slot}`] !== undefined) slot++;
    conf[`unused${slot}`] = id;
    referenced.add(id);
  }
}
