import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SimEvent } from '@lab/pve-sim';
import { Secret } from '@lab/core';
import { apiPath, createPveClient } from '@lab/pve';
import { observeVms } from '../../src/index.js';
import { REPO, startL2 } from '../_fixture.js';

/** 100 small personas on `auto` nodes, applied once; then the plan is timed under latency. */
export async function main(): Promise<number> {
  const count = Number(process.env['L2_BENCH_PERSONAS'] ?? 100);
  const latency = Number(process.env['L2_BENCH_LATENCY_MS'] ?? 25);
  const root = await mkdtemp(path.join(tmpdir(), 'lab-l2-bench-'));
  await copyFile(path.join(REPO, 'lab.yaml'), path.join(root, 'lab.yaml'));
  for (let i = 0; i < count; i++) {
    const name = `p${String(i).padStart(3, '0')}`;
    await mkdir(path.join(root, 'personas', name), { recursive: true });
    await writeFile(path.join(root, 'personas', name, 'persona.yaml'), `name: ${name}\nvm:\n  image: debian-12@stable\n  memory: 512MiB\n  disks: [{ name: root, size: 4G, storage: local-lvm }]\n  nics: [{ bridge: vmbr0, vlan: 30 }]\n`);
  }
  const fx = await startL2({ lab: root });
  try {
    const t0 = performance.now();
    await fx.apply(await fx.plan());
    console.log(`applied ${count} personas in ${((performance.now() - t0) / 1000).toFixed(1)} s (no latency)`);
    let calls = 0;
    fx.sim.engine.on((e: SimEvent) => void (e.kind === 'request' && calls++));
    fx.sim.faults.addLatency({ path: /.*/, ms: latency });
    const timed = async (label: string): Promise<void> => {
      calls = 0;
      const t = performance.now();
      const plan = await fx.plan();
      const ms = performance.now() - t;
      const changed = plan.changes.filter((c) => c.action !== 'noop').length;
      console.log(`${label}: ${calls} calls, ${ms.toFixed(0)} ms, ${changed} changed of ${plan.changes.length} (latency ${latency} ms/call)`);
    };
    await timed('plan, nothing changed');
    const obs = await observeVms(fx.client, { personas: fx.lab.personas.slice(0, 5).map((p) => p.name) });
    for (const vm of obs.managed.values()) await fx.client.put(apiPath('nodes', vm.node, 'qemu', String(vm.vmid), 'config'), { cores: 3 });
    await timed('plan, 5 VMs changed by hand');
    await poolWidths(fx, [4, 16, 32]);
    return 0;
  } finally {
    await fx.close();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The same observation through clients with different pool sizes (the read fan-out follows the
 * pool), interleaved A B A B so load on the machine hits both alike: min and median of each.
 */
async function poolWidths(fx: Awaited<ReturnType<typeof startL2>>, widths: readonly number[]): Promise<void> {
  const personas = fx.lab.personas.map((p) => p.name);
  const clients = widths.map((connections) =>
    createPveClient({ url: fx.sim.url, fingerprint: fx.sim.fingerprint, auth: { kind: 'token', tokenId: fx.sim.adminToken.id, secret: new Secret(fx.sim.adminToken.secret) }, connections }),
  );
  const times: number[][] = widths.map(() => []);
  try {
    for (const c of clients) await observeVms(c, { personas }); // warm: TLS handshakes, pool filled
    for (let round = 0; round < 5; round++) {
      for (const [i, c] of clients.entries()) {
        const t = performance.now();
        await observeVms(c, { personas });
        times[i]!.push(performance.now() - t);
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `min ${s[0]!.toFixed(0)} ms, median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms`;
  };
  widths.forEach((w, i) => console.log(`observe ${personas.length} VMs, ${w} connections: ${stat(times[i]!)} (5 runs, interleaved)`));
  console.log(`load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
