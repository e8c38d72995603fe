import type { Sim } from '../engine/sim.js';
import type { VmRecord } from '../state/model.js';
import { bootOrder, cpuCount, drivesOf, agentEnabled, isCdrom, memoryMiB } from './vmconf.js';
import { parseSize } from '../util/_size.js';

export const QEMU_VERSION = '9.2.0';

export function runningMachine(vm: VmRecord): string {
  const machine = vm.conf['machine'] ?? '';
  const kind = /q35/.test(machine) ? 'q35' : 'i440fx';
  return `pc-${kind}-9.2+pve1`;
}

/** `bootdisk_size`: size of the first boot disk (boot order first, else the first disk). */
export function bootDiskBytes(vm: VmRecord): number {
  const drives = drivesOf(vm.conf).filter(({ drive }) => !isCdrom(drive));
  const order = bootOrder(vm.conf);
  const pick = order.map((k) => drives.find((d) => d.key === k)).find((d) => d !== undefined) ?? drives[0];
  if (!pick) return 0;
  return parseSize(pick.drive['size'] ?? '0') ?? 0;
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
      row['running-machine'] = runningMachine(vm);
      row['running-qemu'] = QEMU_VERSION;
      row['balloon'] = memoryMiB(conf) * 1024 * 1024;
      row['freemem'] = Math.max(0, (row['maxmem'] as number) - u.mem);
    }
  }
  return row;
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
