import { LabError } from '@lab/core';
import type { AgentInterface, GuestSpec } from './backend.js';
import { EGRESS_NIC_PREFIX, guestNicName } from './_container.js';

/** What lab-qga-call prints: the agent's own reply. */
interface QgaReply {
  readonly return?: unknown;
  readonly error?: { readonly class?: string; readonly desc?: string };
}

/** The `return` of a QGA reply line, or a LabError carrying the agent's error text. */
export function parseQgaReply(command: string, text: string): unknown {
  let reply: QgaReply;
  try {
    reply = JSON.parse(text) as QgaReply;
  } catch (cause) {
    throw new LabError({
      code: 'LAB_SIM_AGENT_PROTOCOL',
      summary: `guest agent reply to '${command}' is not JSON`,
      detail: text.slice(0, 500),
      cause,
    });
  }
  if (reply.error) {
    throw new LabError({
      code: 'LAB_SIM_AGENT_ERROR',
      summary: `guest agent command '${command}' failed - ${reply.error.desc ?? reply.error.class ?? 'unknown error'}`,
    });
  }
  return reply.return;
}

/**
 * The guest's interfaces as a Proxmox agent call returns them, declared NICs first (in netN
 * order), then the guest's own (lo, docker0, ...) in the agent's order. Docker's egress NICs
 * are the simulator's plumbing, not part of the VM, so they are left out.
 */
export function orderInterfaces(found: readonly AgentInterface[], spec: GuestSpec | undefined): AgentInterface[] {
  const visible = found.filter((i) => !i.name.startsWith(EGRESS_NIC_PREFIX));
  const declared = spec ? spec.nics.map(guestNicName) : visible.map((i) => i.name).filter((n) => /^eth\d+$/.test(n)).sort();
  const first = declared.flatMap((name) => visible.filter((i) => i.name === name));
  return [...first, ...visible.filter((i) => !declared.includes(i.name))];
}

/** IPv6 link-local address the kernel derives from a MAC (EUI-64), as a real VM shows it. */
export function linkLocalFromMac(mac: string): string {
  const b = mac.toLowerCase().split(':').map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => Number.isNaN(x))) throw new Error(`not a MAC address: ${mac}`);
  const e = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((e[i]! << 8) | e[i + 1]!).toString(16));
  return `fe80::${groups.join(':')}`;
}

const ZERO_STATS = {
  'rx-bytes': 0,
  'rx-dropped': 0,
  'rx-errs': 0,
  'rx-packets': 0,
  'tx-bytes': 0,
  'tx-dropped': 0,
  'tx-errs': 0,
  'tx-packets': 0,
} as const;

/** What a booted guest's agent would report for `spec`, without a guest (the none backend). */
export function synthesizeInterfaces(spec: GuestSpec): AgentInterface[] {
  const nics: AgentInterface[] = spec.nics.map((nic) => {
    const addresses: AgentInterface['ip-addresses'][number][] = [];
    const cidr = nic.address && nic.address !== 'dhcp' ? /^([\d.]+)\/(\d+)$/.exec(nic.address) : null;
    if (cidr) addresses.push({ 'ip-address-type': 'ipv4', 'ip-address': cidr[1]!, prefix: Number(cidr[2]) });
    addresses.push({ 'ip-address-type': 'ipv6', 'ip-address': linkLocalFromMac(nic.mac), prefix: 64 });
    return {
      name: guestNicName(nic),
      'hardware-address': nic.mac.toLowerCase(),
      'ip-addresses': addresses,
      statistics: { ...ZERO_STATS },
    };
  });
  const lo: AgentInterface = {
    name: 'lo',
    'hardware-address': '00:00:00:00:00:00',
    'ip-addresses': [
      { 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 },
      { 'ip-address-type': 'ipv6', 'ip-address': '::1', prefix: 128 },
    ],
    statistics: { ...ZERO_STATS },
  };
  return [...nics, lo];
}
