import type { AgentInterface, GuestBackend, GuestPowerState, GuestSpec, LoopbackEndpoint } from '../src/guests/backend.js';

interface Guest {
  spec: GuestSpec;
  state: GuestPowerState;
  snapshots: Set<string>;
  boots: number;
}

/** A guest backend that only keeps records: enough to test the VM engine without Docker. */
export class MemoryBackend implements GuestBackend {
  readonly kind = 'none' as const;
  readonly guests = new Map<number, Guest>();
  readonly calls: string[] = [];
  /** Make the next call of this action fail with the message. */
  failNext: { action: string; message: string } | undefined;
  agentAnswers = true;

  private check(action: string, vmid: number): void {
    this.calls.push(`${action}:${vmid}`);
    if (this.failNext?.action === action) {
      const m = this.failNext.message;
      this.failNext = undefined;
      throw new Error(m);
    }
  }

  async start(spec: GuestSpec): Promise<void> {
    this.check('start', spec.vmid);
    const g = this.guests.get(spec.vmid) ?? { spec, state: 'stopped' as GuestPowerState, snapshots: new Set<string>(), boots: 0 };
    g.spec = spec;
    g.state = 'running';
    g.boots++;
    this.guests.set(spec.vmid, g);
  }
  async stop(vmid: number): Promise<void> {
    this.check('stop', vmid);
    const g = this.guests.get(vmid);
    if (g) g.state = 'stopped';
  }
  async shutdown(vmid: number, _timeoutMs: number): Promise<void> {
    this.check('shutdown', vmid);
    const g = this.guests.get(vmid);
    if (g) g.state = 'stopped';
  }
  async reboot(vmid: number): Promise<void> {
    this.check('reboot', vmid);
  }
  async destroy(vmid: number): Promise<void> {
    this.check('destroy', vmid);
    this.guests.delete(vmid);
  }
  async state(vmid: number): Promise<GuestPowerState> {
    return this.guests.get(vmid)?.state ?? 'stopped';
  }
  async snapshot(vmid: number, name: string): Promise<void> {
    this.check('snapshot', vmid);
    this.guests.get(vmid)?.snapshots.add(name);
  }
  async rollback(vmid: number, name: string): Promise<void> {
    this.check('rollback', vmid);
    void name;
  }
  async deleteSnapshot(vmid: number, name: string): Promise<void> {
    this.check('deleteSnapshot', vmid);
    this.guests.get(vmid)?.snapshots.delete(name);
  }
  async cloneFilesystem(source: number, target: number): Promise<void> {
    this.calls.push(`clone:${source}->${target}`);
  }
  async agentPing(vmid: number): Promise<boolean> {
    return this.agentAnswers && this.guests.get(vmid)?.state === 'running';
  }
  async agentNetworkInterfaces(vmid: number): Promise<readonly AgentInterface[]> {
    const g = this.guests.get(vmid);
    const lo: AgentInterface = {
      name: 'lo',
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [
        { 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 },
        { 'ip-address-type': 'ipv6', 'ip-address': '::1', prefix: 128 },
      ],
    };
    const nics = (g?.spec.nics ?? []).map((n, i): AgentInterface => {
      const addr = n.address && n.address !== 'dhcp' ? n.address : `10.99.0.${100 + vmid % 100}/24`;
      const [ip, prefix] = addr.split('/');
      return {
        name: `eth${i}`,
        'hardware-address': n.mac.toLowerCase(),
        'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': ip!, prefix: Number(prefix) }],
        statistics: { 'rx-bytes': 1000, 'rx-packets': 10, 'rx-errs': 0, 'rx-dropped': 0, 'tx-bytes': 2000, 'tx-packets': 20, 'tx-errs': 0, 'tx-dropped': 0 },
      };
    });
    return [lo, ...nics];
  }
  async endpoint(vmid: number, port: number): Promise<LoopbackEndpoint | undefined> {
    return this.guests.get(vmid)?.state === 'running' ? { host: '127.0.0.1', port: 20000 + vmid + port } : undefined;
  }
  async close(): Promise<void> {
    this.guests.clear();
  }
}
