import { it } from 'vitest';
import { SshPool } from '@lab/ssh';
import { checkL3, planL3, gatherFacts, requiredFacts } from '@lab/l3-os';
import { startSimGuests } from './_sim.js';
import { referenceIntent } from './bench/persona.js';

it('perf', async () => {
  const sim = await startSimGuests(1, 'perf');
  const g = sim.guests[0]!;
  const pool = new SshPool();
  try {
    const intent = referenceIntent(g.name, g.name, ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB a', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB b', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB c', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB d']);
    const c = await pool.get(g.target);
    await checkL3(intent, { host: c });
    let cpu = process.cpuUsage(); let t = performance.now();
    for (let i = 0; i < 10; i++) await checkL3(intent, { host: c });
    let d = process.cpuUsage(cpu);
    console.log('check: wall/check', ((performance.now() - t) / 10).toFixed(0), 'node cpu/check', ((d.user + d.system) / 10000).toFixed(1));
    const facts = await gatherFacts(c, requiredFacts(intent));
    cpu = process.cpuUsage(); t = performance.now();
    for (let i = 0; i < 10; i++) planL3(intent, facts);
    d = process.cpuUsage(cpu);
    console.log('plan only: wall/plan', ((performance.now() - t) / 10).toFixed(1), 'cpu', ((d.user + d.system) / 10000).toFixed(1));
    cpu = process.cpuUsage(); t = performance.now();
    for (let i = 0; i < 10; i++) await c.exec('true');
    d = process.cpuUsage(cpu);
    console.log('exec true: wall', ((performance.now() - t) / 10).toFixed(1), 'cpu', ((d.user + d.system) / 10000).toFixed(1));
  } finally { await pool.closeAll(); await sim.close(); }
}, 300_000);
