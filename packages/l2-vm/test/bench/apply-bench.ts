import { createDockerBackend, ensureGuestImage, type GuestBackend } from '@lab/pve-sim';
import { startL2 } from '../_fixture.js';
import type { Parallelism } from '../../src/index.js';

/**
 * L2 apply of the five example personas on the simulator with realistic task times (clone
 * 1.5 s, start 1 s, guest agent 8 s after start; `none` guests), one VM at a time and then with
 * the default bounds (adr/0160). Prints both and the ratio; not a test.
 * `L2_BENCH_GUESTS=docker`: real Debian guests in Docker (the agent answers when the guest has
 * booted), as in the demo.
 */
export async function main(): Promise<number> {
  const docker = process.env['L2_BENCH_GUESTS'] === 'docker';
  const image = docker ? await ensureGuestImage({}) : undefined;
  const run = async (label: string, parallelism: Parallelism, only?: string): Promise<number> => {
    const guests: GuestBackend | undefined = image ? createDockerBackend({ image: image.tag, instance: `l2bench-${process.pid}-${parallelism.vms ?? 'd'}`, removeOnClose: true }) : undefined;
    const fx = await startL2({ sim: { timing: docker ? 'fast' : 'realistic' }, ...(guests ? { guests } : {}) });
    try {
      // realistic timing delays cluster/resources status; the agent wait reads status/current.
      fx.sim.faults.setResourcesLag(0);
      const plan = await fx.plan('normal', only ? { personas: fx.lab.personas.filter((p) => p.name === only) } : {});
      const t0 = performance.now();
      await fx.apply(plan, { parallelism, taskPollMs: 200, pollMs: 250, agentTimeoutMs: 600_000 });
      const s = (performance.now() - t0) / 1000;
      console.log(`${label.padEnd(34)} ${plan.changes.length} VMs in ${s.toFixed(1)} s`);
      return s;
    } finally {
      await fx.close();
      await guests?.close();
    }
  };
  // Order alternates with L2_BENCH_ORDER=reverse, to see warm-up and load effects.
  const reverse = process.env['L2_BENCH_ORDER'] === 'reverse';
  const dfltFirst = reverse ? await run('default (vms: 4, perNode: 2)', {}) : 0;
  const one = await run('one at a time (vms: 1, perNode: 1)', { vms: 1, perNode: 1 });
  const dflt = reverse ? dfltFirst : await run('default (vms: 4, perNode: 2)', {});
  console.log(`speed-up ${(one / dflt).toFixed(1)}x`);
  // Before adr/0160 each VM's agent wait ran before the next VM started: about five single creates.
  const single = await run('one VM alone (media)', {}, 'media');
  console.log(`five VMs strictly one after another (as before adr/0160) ≈ 5 × ${single.toFixed(1)} s = ${(5 * single).toFixed(1)} s; default is ${((5 * single) / dflt).toFixed(1)}x faster`);
  return 0;
}
