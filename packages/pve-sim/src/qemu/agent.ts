import type { Sim } from '../engine/sim.js';
import { fail } from '../http/_errors.js';
import { agentEnabled, loadVm } from './vmconf.js';
import { guestRelease } from './guest.js';

/**
 * `agent_available` precedence: no agent key → configured check → running → agent answering
 * (boot delay, then the backend's ping). All failures are 500s with PVE's texts.
 */
export async function assertAgent(sim: Sim, node: string, vmid: number): Promise<void> {
  const vm = loadVm(sim, node, vmid);
  if (vm.conf['agent'] === undefined || !agentEnabled(vm.conf)) fail('No QEMU guest agent configured');
  if (vm.runtime.status === 'stopped') fail(`VM ${vmid} is not running`);
  if (vm.runtime.agentReadyAt !== undefined && sim.now() < vm.runtime.agentReadyAt) fail('QEMU guest agent is not running');
  let ok = false;
  try {
    ok = await sim.guests.agentPing(vmid);
  } catch {
    ok = false;
  }
  if (!ok) fail('QEMU guest agent is not running');
}

export async function agentNetworkInterfaces(sim: Sim, node: string, vmid: number): Promise<unknown> {
  await assertAgent(sim, node, vmid);
  try {
    return { result: await sim.guests.agentNetworkInterfaces(vmid) };
  } catch (err) {
    fail(`VM ${vmid} qmp command 'guest-network-get-interfaces' failed - ${(err as Error).message}`);
  }
}

/** Answers of the informational agent commands the simulator can give without a real QGA. */
export async function agentSimple(sim: Sim, node: string, vmid: number, command: string): Promise<unknown> {
  await assertAgent(sim, node, vmid);
  const vm = loadVm(sim, node, vmid);
  switch (command) {
    case 'ping':
      return { result: {} };
    case 'get-host-name':
      return { result: { 'host-name': (vm.conf['name'] ?? `VM${vmid}`).split('.')[0] } };
    case 'get-osinfo':
      return {
        result: {
          id: 'debian',
          name: 'Debian GNU/Linux',
          ...osVersion(guestRelease(sim, vm)),
          'kernel-release': '6.1.0-28-cloud-amd64',
          'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)',
          machine: 'x86_64',
        },
      };
    case 'info':
      return { result: { version: '7.2.19', supported_commands: [] } };
    case 'get-time':
      return { result: sim.now() * 1_000_000 };
    case 'get-timezone':
      return { result: { zone: 'UTC', offset: 0 } };
    case 'get-users':
      return { result: [] };
    case 'get-vcpus':
      return { result: [{ 'logical-id': 0, online: true, 'can-offline': false }] };
    case 'get-fsinfo':
      return { result: [] };
    case 'get-memory-blocks':
    case 'get-memory-block-info':
      return { result: [] };
    case 'fsfreeze-status':
      return { result: 'thawed' };
    case 'fsfreeze-freeze':
    case 'fsfreeze-thaw':
      return { result: 0 };
    case 'fstrim':
      return { result: { paths: [] } };
    case 'shutdown':
      await sim.guests.shutdown(vmid, sim.options.timing.shutdownTimeoutMs);
      vm.runtime = { ...vm.runtime, status: 'stopped', changedAt: sim.now() };
      return { result: {} };
    default:
      fail(`VM ${vmid} qmp command 'guest-${command}' failed - unsupported by the simulator`);
  }
}

function osVersion(release: string | undefined): Record<string, string> {
  const [id, name] = release === 'trixie' ? ['13', 'trixie'] : ['12', 'bookworm'];
  return { 'pretty-name': `Debian GNU/Linux ${id} (${name})`, version: `${id} (${name})`, 'version-id': id };
}
