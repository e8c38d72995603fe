import type { Sim } from '../engine/sim.js';
import type { VmRecord } from '../state/model.js';
import { bootOrder, cpuCount, drivesOf, agentEnabled, isCdrom, memoryMiB } from './vmconf.js';
import { parseSize } from '../util/_size.js';

/** `running-machine`: the newest machine version of the release's QEMU, i440fx unless q35. */
export function runningMachine(sim: Sim, vm: VmRecord): string {
  const machine = vm.conf['machine'] ?? '';
  const kind = /q35/.test(machine) ? 'q35' : 'i440fx';
  return `pc-${kind}-${sim.options.pve.qemu.machine}`;
}

/** `bootdisk_size`: size of the first boot disk (boot order first, else the first disk). */
export function bootDiskBytes(vm: VmRecord): number {
  const pick = bootDisk(vm);
  if (!pick) return 0;
  return parseSize(pick.drive['size'] ?? '0') ?? 0;
}

/** The boot disk: the first disk in the boot order, else the first disk. */
export function bootDisk(vm: VmRecord): ReturnType<typeof drivesOf>[number] | undefined {
  const drives = drivesOf(vm.conf).filter(({ drive }) => !isCdrom(drive));
  const order = bootOrder(vm.conf);
  return order.map((k) => drives.find((d) => d.key === k)).find((d) => d !== undefined) ?? drives[0];
}

function uptime(sim: Sim, vm: VmRecord): number {
  if (vm.runtime.status === 'stopped' || !vm.runtime.startedAt) return 0;
  return Math.max(0, Math.floor((sim.now() - vm.runtime.startedAt) / 1000));
}

/** Simulated load figures, deterministic per VM so answers are stable. */
function usage(vm: VmRecord, up: number): { cpu: number; mem: number; netin: number; netout: number; diskread: number; diskwrite: number } {
  if (vm.runtime.status === 'stopped') return { cpu: 0, mem: 0, netin: 0, netout: 0, diskread: 0, diskwrite: 0 };
  const maxmem = memoryMiB(vm.conf) * 1024 * 1024;
  const seed = (vm.vmid % 7) + 1;
  return {
    cpu: Number((0.005 * seed).toFixed(4)),
    mem: Math.floor(maxmem * (0.25 + seed / 100)),
    netin: (vm.runtime.netin ?? 0) + up * 1200 * seed,
    netout: (vm.runtime.netout ?? 0) + up * 800 * seed,
    diskread: up * 40960 * seed,
    diskwrite: up * 20480 * seed,
  };
}

/** One VM as `vmstatus` reports it (`/qemu` list rows; `full` adds the `status/current` extras). */
export function vmStatus(sim: Sim, vm: VmRecord, full: boolean): Record<string, unknown> {
  const conf = vm.conf;
  const up = uptime(sim, vm);
  const u = usage(vm, up);
  const running = vm.runtime.status !== 'stopped';
  const row: Record<string, unknown> = {
    vmid: vm.vmid,
    name: conf['name'] ?? `VM ${vm.vmid}`,
    status: running ? 'running' : 'stopped',
    cpus: Math.min(cpuCount(conf), sim.state.nodes[vm.node]?.cpus ?? 16),
    cpu: u.cpu,
    maxmem: memoryMiB(conf) * 1024 * 1024,
    mem: u.mem,
    maxdisk: bootDiskBytes(vm),
    disk: 0,
    netin: u.netin,
    netout: u.netout,
    uptime: up,
  };
  if (running && vm.runtime.pid) row['pid'] = vm.runtime.pid;
  const balloon = Number(conf['balloon'] ?? 0);
  if (balloon > 0) {
    row['balloon_min'] = balloon * 1024 * 1024;
    row['shares'] = Number(conf['shares'] ?? 1000);
  }
  if (conf['tags'] !== undefined) row['tags'] = conf['tags'];
  if (conf['lock'] !== undefined) row['lock'] = conf['lock'];
  if (conf['template'] === '1') row['template'] = 1;
  if (Object.keys(conf).some((k) => /^serial\d+$/.test(k))) row['serial'] = 1;
  if (full) {
    row['qmpstatus'] = vm.runtime.status === 'paused' ? 'paused' : running ? 'running' : 'stopped';
    // Block statistics come from QMP `query-blockstats`, asked of running VMs only.
    if (running) {
      row['diskread'] = u.diskread;
      row['diskwrite'] = u.diskwrite;
      row['running-machine'] = runningMachine(sim, vm);
      row['running-qemu'] = sim.options.pve.qemu.version;
      row['balloon'] = memoryMiB(conf) * 1024 * 1024;
      row['freemem'] = Math.max(0, (row['maxmem'] as number) - u.mem);
      Object.assign(row, runningExtras(vm, up, u));
    }
  }
  return row;
}

/**
 * What qemu-server's `vmstatus(full)` adds from QMP and /proc for a running VM: per-tap
 * counters (`nics`), `query-blockstats` per drive (`blockstat`, whose byte sums are
 * diskread/diskwrite), `query-balloon` (`ballooninfo`, only with a balloon device) and
 * `query-proxmox-support`.
 */
function runningExtras(vm: VmRecord, up: number, u: ReturnType<typeof usage>): Record<string, unknown> {
  const extras: Record<string, unknown> = {};
  const nets = Object.keys(vm.conf).filter((k) => /^net\d+$/.test(k)).sort();
  if (nets.length > 0) {
    const nics: Record<string, { netin: number; netout: number }> = {};
    nets.forEach((k, i) => {
      // all traffic on the first NIC: the totals stay the sums of the per-tap counters
      nics[`tap${vm.vmid}i${k.slice(3)}`] = i === 0 ? { netin: u.netin, netout: u.netout } : { netin: 0, netout: 0 };
    });
    extras['nics'] = nics;
  }
  const drives = drivesOf(vm.conf).filter(({ drive }) => drive.file !== 'none');
  const blockstat: Record<string, Record<string, unknown>> = {};
  drives.forEach(({ key, drive }, i) => {
    const first = i === 0 && !isCdrom(drive);
    const rd = first ? u.diskread : 0;
    const wr = first ? u.diskwrite : 0;
    blockstat[key] = {
      rd_bytes: rd, wr_bytes: wr, rd_operations: Math.floor(rd / 4096), wr_operations: Math.floor(wr / 4096),
      rd_merged: 0, wr_merged: 0, flush_operations: first ? up : 0, rd_total_time_ns: rd * 10, wr_total_time_ns: wr * 20,
      flush_total_time_ns: first ? up * 1000 : 0, failed_rd_operations: 0, failed_wr_operations: 0, failed_flush_operations: 0,
      failed_unmap_operations: 0, invalid_rd_operations: 0, invalid_wr_operations: 0, invalid_flush_operations: 0,
      invalid_unmap_operations: 0, unmap_bytes: 0, unmap_operations: 0, unmap_merged: 0, unmap_total_time_ns: 0,
      account_failed: true, account_invalid: true, idle_time_ns: 1_000_000_000, timed_stats: [],
    };
  });
  extras['blockstat'] = blockstat;
  if (vm.conf['balloon'] !== '0') {
    const max = memoryMiB(vm.conf) * 1024 * 1024;
    extras['ballooninfo'] = {
      actual: max, max_mem: max, total_mem: max, free_mem: Math.max(0, max - u.mem),
      mem_swapped_in: 0, mem_swapped_out: 0, major_page_faults: 120 + up, minor_page_faults: 90_000 + up * 50, last_update: Math.max(0, up - 1),
    };
  }
  extras['proxmox-support'] = {
    'backup-fleecing': true, 'backup-max-workers': true, 'pbs-dirty-bitmap': true, 'pbs-dirty-bitmap-migration': true,
    'pbs-dirty-bitmap-savevm': true, 'pbs-library-version': '1.5.1 (UNKNOWN)', 'pbs-masterkey': true, 'query-bitmap-info': true,
  };
  return extras;
}

/** `GET …/status/current`: the full row plus `ha` and `agent`. */
export function vmStatusCurrent(sim: Sim, vm: VmRecord): Record<string, unknown> {
  const row = vmStatus(sim, vm, true);
  row['ha'] = { managed: 0 };
  if (agentEnabled(vm.conf)) row['agent'] = 1;
  return row;
}

/** Status as pvestatd last broadcast it: changes surface only after the lag window. */
export function broadcastStatus(sim: Sim, vm: VmRecord): 'running' | 'stopped' | 'unknown' {
  const lag = sim.resourcesLagMs;
  const live = vm.runtime.status === 'stopped' ? 'stopped' : 'running';
  if (lag <= 0) return live;
  if (vm.runtime.createdAt !== undefined && sim.now() - vm.runtime.createdAt < lag) return 'unknown';
  if (vm.runtime.changedAt !== undefined && sim.now() - vm.runtime.changedAt < lag) return live === 'running' ? 'stopped' : 'running';
  return live;
}
