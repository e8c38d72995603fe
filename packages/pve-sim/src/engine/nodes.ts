import type { Sim } from './sim.js';
import { fail, RawHttpError } from '../http/_errors.js';
import type { NodeRecord } from '../state/model.js';

/**
 * The node a `{node}` path segment addresses, as pveproxy resolves it: `localhost` is the
 * serving node; an unknown name fails its DNS lookup (500); a node that is down cannot be
 * proxied to (595, no body).
 */
export function resolveNode(sim: Sim, name: string): string {
  if (name === 'localhost') return sim.localNode;
  const node = sim.state.nodes[name];
  if (!node) fail(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
  if (node.down && name !== sim.localNode) {
    throw new RawHttpError(595, 'Errors during connection establishment, proxy handshake: No route to host', '');
  }
  return name;
}

export function nodeRecord(sim: Sim, name: string): NodeRecord {
  const node = sim.state.nodes[name];
  if (!node) fail(`no such node '${name}'`);
  return node;
}

/** Memory of running VMs on a node, in bytes. */
export function usedMemory(sim: Sim, node: string): number {
  let sum = 0;
  for (const vm of Object.values(sim.state.vms)) {
    if (vm.node !== node || vm.runtime.status === 'stopped') continue;
    const mem = Number(/^(?:current=)?(\d+)/.exec(vm.conf['memory'] ?? '512')?.[1] ?? 512);
    sum += mem * 1024 * 1024;
  }
  return sum;
}

/** Base memory a PVE host uses for itself (kernel, pmxcfs, daemons). */
export const HOST_BASE_MEMORY = 2 * 1024 ** 3;
