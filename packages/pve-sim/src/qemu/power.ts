import type { Sim } from '../engine/sim.js';
import type { TaskHandle } from '../engine/tasks.js';
import type { VmRecord } from '../state/model.js';
import type { GuestSpec } from '../guests/backend.js';
import { fail } from '../http/_errors.js';
import { checkLock, hasCloudinitDrive, loadVm, loadVmOnNode, parseNet } from './vmconf.js';
import { applyPending } from './pending.js';
import { guestCall, guestSpec } from './guest.js';
import { bridgeExists } from '../routes/nodes.js';

function markRunning(sim: Sim, vm: VmRecord, addresses?: string[]): void {
  sim.state.counters.pid += 1 + sim.rng.int(50);
  vm.runtime = {
    ...vm.runtime,
    status: 'running',
    pid: sim.state.counters.pid,
    startedAt: sim.now(),
    agentReadyAt: sim.now() + sim.agentDelayFor(vm.vmid),
    changedAt: sim.now(),
    ...(addresses ? { addresses } : {}),
  };
}

function declaredAddresses(spec: GuestSpec): string[] {
  return spec.nics.map((n) => n.address).filter((a): a is string => !!a && a !== 'dhcp').map((a) => a.split('/')[0]!);
}

function markStopped(sim: Sim, vm: VmRecord): void {
  const { status: _s, pid: _p, startedAt: _st, agentReadyAt: _a, addresses: _ad, ...rest } = vm.runtime;
  vm.runtime = { ...rest, status: 'stopped', changedAt: sim.now() };
}

/**
 * `vm_start_nolock` in a task: apply pending changes, check bridges, regenerate the cloud-init
 * image, boot the guest. Template, lock and already-running failures happen here, not at dispatch.
 */
export async function doStart(sim: Sim, node: string, vmid: number, task: TaskHandle, opts: { skiplock?: boolean } = {}): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVm(sim, node, vmid);
    if (vm.conf['template'] === '1') throw new Error("you can't start a vm if it's a template");
    const running = vm.runtime.status !== 'stopped';
    if (!opts.skiplock && vm.conf['lock'] !== 'suspended') checkLock(vm.conf);
    if (running) throw new Error(`VM ${vmid} already running`);
    await applyPending(sim, vm);
    for (const [k, v] of Object.entries(vm.conf)) {
      if (!/^net\d+$/.test(k)) continue;
      const bridge = parseNet(v)?.['bridge'];
      if (bridge && !bridgeExists(sim, node, bridge)) throw new Error(`bridge '${bridge}' does not exist`);
    }
    if (hasCloudinitDrive(vm.conf)) {
      task.log('generating cloud-init ISO');
      vm.cloudinit = {};
    }
    const spec = await guestSpec(sim, vm);
    await guestCall(sim, vmid, 'start', 'start failed', () => sim.guests.start(spec));
    markRunning(sim, vm, declaredAddresses(spec));
  });
}

export async function doStop(sim: Sim, node: string, vmid: number, opts: { skiplock?: boolean } = {}): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVmOnNode(sim, node, vmid);
    if (vm.runtime.status === 'stopped') return;
    if (!opts.skiplock) checkLock(vm.conf);
    await guestCall(sim, vmid, 'stop', undefined, () => sim.guests.stop(vmid));
    markStopped(sim, vm);
    await applyPending(sim, vm);
  });
}

export async function doShutdown(sim: Sim, node: string, vmid: number, opts: { skiplock?: boolean; timeoutS?: number; forceStop?: boolean }): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVmOnNode(sim, node, vmid);
    if (vm.runtime.status === 'stopped') return;
    if (!opts.skiplock) checkLock(vm.conf);
    const timeoutMs = Math.min((opts.timeoutS ?? 60) * 1000, sim.options.timing.shutdownTimeoutMs);
    try {
      await sim.guests.shutdown(vmid, timeoutMs);
    } catch (err) {
      if (!opts.forceStop) throw new Error('VM quit/powerdown failed - got timeout');
      sim.emit({ kind: 'guest-error', vmid, action: 'shutdown', message: (err as Error).message });
      await guestCall(sim, vmid, 'stop', undefined, () => sim.guests.stop(vmid));
    }
    markStopped(sim, vm);
    await applyPending(sim, vm);
  });
}

/** Reboot = clean shutdown, pending changes applied, then a fresh start (what qmeventd does). */
export async function doReboot(sim: Sim, node: string, vmid: number, task: TaskHandle, timeoutS?: number): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVm(sim, node, vmid);
    if (vm.runtime.status === 'stopped') return;
    checkLock(vm.conf);
    const timeoutMs = Math.min((timeoutS ?? 60) * 1000, sim.options.timing.shutdownTimeoutMs);
    await guestCall(sim, vmid, 'shutdown', undefined, () => sim.guests.shutdown(vmid, timeoutMs));
    markStopped(sim, vm);
    await applyPending(sim, vm);
    if (hasCloudinitDrive(vm.conf)) {
      task.log('generating cloud-init ISO');
      vm.cloudinit = {};
    }
    const spec = await guestSpec(sim, vm);
    await guestCall(sim, vmid, 'start', 'start failed', () => sim.guests.start(spec));
    markRunning(sim, vm, declaredAddresses(spec));
  });
}

export async function doReset(sim: Sim, node: string, vmid: number, skiplock: boolean): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVm(sim, node, vmid);
    if (!skiplock) checkLock(vm.conf);
    if (vm.runtime.status === 'stopped') throw new Error(`VM ${vmid} not running`);
    await guestCall(sim, vmid, 'reboot', undefined, () => sim.guests.reboot(vmid));
    markRunning(sim, vm, vm.runtime.addresses);
  });
}

export async function doSuspend(sim: Sim, node: string, vmid: number, skiplock: boolean): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVm(sim, node, vmid);
    if (!skiplock) checkLock(vm.conf);
    if (vm.runtime.status === 'stopped') throw new Error(`VM ${vmid} not running`);
    vm.runtime.status = 'paused';
  });
}

export async function doResume(sim: Sim, node: string, vmid: number, skiplock: boolean): Promise<void> {
  await sim.withConfigLock(vmid, async () => {
    const vm = loadVm(sim, node, vmid);
    if (!skiplock && vm.conf['lock'] !== 'backup') checkLock(vm.conf);
    if (vm.runtime.status === 'stopped') throw new Error(`VM ${vmid} not running`);
    vm.runtime.status = 'running';
  });
}

/** Synchronous precondition of `POST …/status/reboot`. */
export function assertRebootable(sim: Sim, node: string, vmid: number): void {
  const vm = loadVmOnNode(sim, node, vmid);
  if (vm.runtime.status === 'stopped') fail(`VM ${vmid} not running`);
  if (vm.runtime.status === 'paused') fail('VM is paused - cannot shutdown');
}

export { markRunning, markStopped };
