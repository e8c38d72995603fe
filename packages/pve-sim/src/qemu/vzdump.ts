import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Sim } from '../engine/sim.js';
import type { ConfigSection, VolumeRecord } from '../state/model.js';
import { archiveDisk, archiveDiskFile, existingDataFile } from '../storage/volume-data.js';
import { fail } from '../http/_errors.js';
import type { Params } from '../http/_router.js';
import { p, pBool } from '../routes/_helpers.js';
import { drivesOf, isCdrom, isCloudinitDrive, renderConfigFile } from './vmconf.js';
import { addVolume, findVolume, storageAvailableOn, storageConfig, volumeFile } from '../storage/volumes.js';
import { splitList } from '../util/_list.js';

/** What a simulated backup archive holds: the config and each disk's size (no disk data). */
export interface ArchiveContent {
  readonly format: 'lab-pve-sim-vzdump/1';
  readonly vmid: number;
  readonly node: string;
  readonly conf: ConfigSection;
  readonly configFile: string;
  readonly disks: ReadonlyArray<{ key: string; volid: string; size: number; storage: string; origin?: string }>;
  readonly ctime: number;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Backup timestamp in local time, `YYYY_MM_DD-HH_MM_SS`. */
function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}_${pad(d.getMonth() + 1)}_${pad(d.getDate())}-${pad(d.getHours())}_${pad(d.getMinutes())}_${pad(d.getSeconds())}`;
}

function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function extension(compress: string | undefined): string {
  if (compress === 'zstd') return '.vma.zst';
  if (compress === 'gzip' || compress === '1') return '.vma.gz';
  if (compress === 'lzo') return '.vma.lzo';
  return '.vma';
}

export async function readArchive(file: string): Promise<ArchiveContent> {
  const raw = await readFile(file);
  const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const parsed = JSON.parse(text) as ArchiveContent;
  if (parsed.format !== 'lab-pve-sim-vzdump/1') throw new Error('unknown archive format');
  return parsed;
}

/**
 * `POST /nodes/{node}/vzdump`: one `vzdump` task backs up each VM under `lock: backup` into
 * `<storage>:backup/vzdump-qemu-<vmid>-<local time>.vma[.zst|.gz|.lzo]`; per-VM failures end
 * the task with `job errors`.
 */
export function vzdump(sim: Sim, principal: string, node: string, params: Params): string {
  const all = pBool(params, 'all') ?? false;
  const exclude = new Set(splitList(p(params, 'exclude')).map(Number));
  let vmids = splitList(p(params, 'vmid')).map(Number);
  if (all) vmids = Object.values(sim.state.vms).filter((v) => v.node === node && !exclude.has(v.vmid)).map((v) => v.vmid).sort((a, b) => a - b);
  if (!all && vmids.length === 0) fail('no VMs specified for backup');
  for (const id of vmids) sim.access.check(principal, `/vms/${id}`, ['VM.Backup']);
  const storage = p(params, 'storage') ?? 'local';
  const cfg = storageConfig(sim, storage);
  if (!storageAvailableOn(cfg, node)) fail(`storage '${storage}' is not available on node '${node}'`);
  sim.access.check(principal, `/storage/${storage}`, ['Datastore.AllocateSpace']);
  if (p(params, 'prune-backups') !== undefined) sim.access.check(principal, `/storage/${storage}`, ['Datastore.Allocate']);
  for (const k of ['bwlimit', 'ionice', 'performance']) if (p(params, k) !== undefined) sim.access.check(principal, '/', ['Sys.Modify']);
  if (!cfg.content.includes('backup')) fail(`storage '${storage}' does not support backups`);
  if (cfg.type !== 'dir') fail(`storage '${storage}' is not a file based storage`);
  const compress = p(params, 'compress');
  const mode = p(params, 'mode') ?? 'snapshot';
  const notesTemplate = p(params, 'notes-template');
  const protect = pBool(params, 'protected') ?? false;
  const cmdline = ['vzdump', ...(all ? ['--all', '1'] : [vmids.join(' ')])];
  for (const k of ['compress', 'mode', 'notes-template', 'protected', 'remove', 'storage']) {
    const v = p(params, k);
    if (v !== undefined) cmdline.push(`--${k}`, k === 'notes-template' ? `'${v}'` : v);
  }

  return sim.tasks.start({
    node,
    type: 'vzdump',
    id: vmids.length === 1 ? String(vmids[0]) : '',
    user: principal,
    selfTimed: true,
    work: async (task) => {
      await sim.flocks.with(`/var/run/vzdump.lock`, 'exclusive', 180 * 60_000, async () => {
        task.log(`INFO: starting new backup job: ${cmdline.join(' ')}`);
        let errors = 0;
        for (const vmid of vmids) {
          const started = sim.now();
          task.log(`INFO: Starting Backup of VM ${vmid} (qemu)`);
          task.log(`INFO: Backup started at ${localTime(started)}`);
          try {
            await backupOne(sim, task, node, vmid, storage, cfg.path ?? '/var/lib/vz', { compress, mode, notesTemplate, protect, started });
            const secs = Math.max(0, Math.round((sim.now() - started) / 1000));
            task.log(`INFO: Finished Backup of VM ${vmid} (${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)})`);
            task.log(`INFO: Backup finished at ${localTime(sim.now())}`);
          } catch (err) {
            errors++;
            task.log(`ERROR: Backup of VM ${vmid} failed - ${(err as Error).message.trim()}`);
          }
        }
        if (errors > 0) throw new Error('job errors');
        task.log('INFO: Backup job finished successfully');
      });
    },
  });
}

interface BackupOpts {
  readonly compress: string | undefined;
  readonly mode: string;
  readonly notesTemplate: string | undefined;
  readonly protect: boolean;
  readonly started: number;
}

async function backupOne(sim: Sim, task: { log(l: string): void; simulate(): Promise<void> }, node: string, vmid: number, storage: string, root: string, o: BackupOpts): Promise<void> {
  const vm = sim.vm(vmid);
  if (!vm || vm.node !== node) throw new Error(`unable to find VM '${vmid}'`);
  await sim.withConfigLock(vmid, async () => {
    if (vm.conf['lock']) throw new Error(`VM is locked (${vm.conf['lock']})`);
    vm.conf['lock'] = 'backup';
  });
  await sim.save();
  try {
    await task.simulate();
    const running = vm.runtime.status !== 'stopped';
    task.log(`INFO: status = ${running ? 'running' : 'stopped'}`);
    const mode = running ? o.mode : 'stop';
    task.log(`INFO: backup mode: ${mode}`);
    task.log('INFO: ionice priority: 7');
    const name = `vzdump-qemu-${vmid}-${stamp(o.started)}${extension(o.compress)}`;
    const dest = `${root}/dump/${name}`;
    task.log(`INFO: creating vzdump archive '${dest}'`);
    const conf: ConfigSection = { ...vm.conf };
    delete conf['lock'];
    const disks: ArchiveContent['disks'][number][] = [];
    const dataDisks: Array<{ key: string; vol: VolumeRecord }> = [];
    for (const { key, drive } of drivesOf(conf)) {
      if (isCdrom(drive) || drive.file === 'none' || isCloudinitDrive(drive)) continue;
      if (drive['backup'] === '0') {
        task.log(`INFO: exclude disk '${key}' '${drive.file}' (backup=no)`);
        continue;
      }
      const vol = findVolume(sim, node, drive.file);
      const size = vol?.virtualSize ?? vol?.size ?? 0;
      disks.push({ key, volid: drive.file, size, storage: drive.file.split(':')[0]!, ...(vol?.origin ? { origin: vol.origin } : {}) });
      if (vol) dataDisks.push({ key, vol });
      task.log(`INFO: include disk '${key}' '${drive.file}' ${Math.round(size / 1024 ** 3)}G`);
    }
    const content: ArchiveContent = {
      format: 'lab-pve-sim-vzdump/1',
      vmid,
      node,
      conf,
      configFile: renderConfigFile({ ...vm, conf, pending: {}, snapshots: {} }),
      disks,
      ctime: Math.floor(o.started / 1000),
    };
    const json = JSON.stringify(content);
    const bytes = o.compress === 'gzip' || o.compress === '1' ? gzipSync(json) : Buffer.from(json);
    const rel = volumeFile(node, storage, 'backup', name);
    const abs = sim.store.resolve(rel);
    await mkdir(path.dirname(abs), { recursive: true });
    // Data disks' bytes (adr/0175) beside the archive; the boot disk is the guest's filesystem.
    if (running) await sim.guests.flush?.(vmid);
    for (const { key, vol } of dataDisks) {
      const from = await existingDataFile(sim, vol);
      if (from) await archiveDisk(from, archiveDiskFile(abs, key));
    }
    await writeFile(abs, bytes);
    const size = (await stat(abs)).size;
    const notes = o.notesTemplate
      ?.replace(/\{\{guestname\}\}/g, vm.conf['name'] ?? `VM${vmid}`)
      .replace(/\{\{vmid\}\}/g, String(vmid))
      .replace(/\{\{node\}\}/g, node)
      .replace(/\{\{cluster\}\}/g, 'lab');
    addVolume(sim, {
      node,
      storage,
      volname: `backup/${name}`,
      content: 'backup',
      format: extension(o.compress).slice(1),
      size,
      ctime: Math.floor(o.started / 1000),
      vmid,
      file: rel,
      ...(notes ? { notes } : {}),
      ...(o.protect ? { protected: 1 as const } : {}),
    });
    task.log(`INFO: archive file size: ${(size / 1024 ** 2).toFixed(0)}MB`);
    if (notes) task.log('INFO: adding notes to backup');
    if (o.protect) task.log('INFO: marking backup as protected');
  } finally {
    delete vm.conf['lock'];
    await sim.save();
  }
}
