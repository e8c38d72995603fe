import type { Sim } from '../engine/sim.js';
import type { VmRecord } from '../state/model.js';
import type { GuestNic, GuestSpec } from '../guests/backend.js';
import { agentEnabled, hasCloudinitDrive, parseIpconfig, parseNet } from './vmconf.js';
import { buildSeed } from './cloudinit.js';
import { bootDiskBytes } from './status.js';

/** NICs as the guest backend sees them: MAC, bridge, VLAN and the declared ipconfig address. */
export function guestNics(vm: VmRecord): GuestNic[] {
  const nics: GuestNic[] = [];
  const keys = Object.keys(vm.conf)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  for (const key of keys) {
    const net = parseNet(vm.conf[key]!);
    if (!net) continue;
    const ipc = vm.conf[`ipconfig${key.slice(3)}`];
    const ip = ipc ? parseIpconfig(ipc) : undefined;
    nics.push({
      device: key,
      mac: (net['macaddr'] ?? '').toUpperCase(),
      bridge: net['bridge'] ?? '',
      ...(net['tag'] ? { vlan: Number(net['tag']) } : {}),
      ...(ip?.['ip'] ? { address: ip['ip'] } : {}),
      ...(ip?.['gw'] ? { gateway: ip['gw'] } : {}),
    });
  }
  return nics;
}

/** Everything the backend needs to boot this VM's guest, cloud-init seed rendered when a drive exists. */
export async function guestSpec(sim: Sim, vm: VmRecord): Promise<GuestSpec> {
  const spec: GuestSpec = {
    node: vm.node,
    vmid: vm.vmid,
    name: vm.conf['name'] ?? `VM${vm.vmid}`,
    nics: guestNics(vm),
    bootDiskBytes: bootDiskBytes(vm),
    agent: agentEnabled(vm.conf),
    ...(hasCloudinitDrive(vm.conf) ? { cloudInit: await buildSeed(sim, vm.node, vm.conf, vm.vmid) } : {}),
  };
  return spec;
}

/** Run a backend call; its failure becomes the task error `<prefix>: <message>`. */
export async function guestCall<T>(sim: Sim, vmid: number, action: string, prefix: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    sim.emit({ kind: 'guest-error', vmid, action, message });
    throw new Error(prefix ? `${prefix}: ${message}` : message);
  }
}
