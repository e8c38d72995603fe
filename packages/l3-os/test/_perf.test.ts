import { it } from 'vitest';
import { SshConnection } from '@lab/ssh';
import { checkL3, gatherFacts, requiredFacts, planL3 } from '@lab/l3-os';
import { startSimGuests } from './_sim.js';
import { referenceIntent } from './bench/persona.js';

it('perf', async () => {
  const sim = await startSimGuests(1, 'perf');
  const g = sim.guests[0]!;
  try {
    const intent = referenceIntent(g.name, g.name, ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB a', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB b', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB c', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB d']);
    let t = performance.now();
    const c = await SshConnection.open(g.target);
    console.log('connect', Math.round(performance.now() - t));
    for (let i = 0; i < 3; i++) {
      t = performance.now(); await c.exec('true'); const a = performance.now() - t;
      t = performance.now(); await c.script('true', { sudo: true }); const b = performance.now() - t;
      t = performance.now(); const facts = await gatherFacts(c, requiredFacts(intent)); const d = performance.now() - t;
      t = performance.now(); planL3(intent, facts); const e = performance.now() - t;
      t = performance.now(); await c.script(`TIMEFORMAT=%R; time (true)`, { sudo: true }); 
      console.log({ exec: Math.round(a), sudoScript: Math.round(b), gather: Math.round(d), plan: Math.round(e) });
    }
    await c.close();
  } finally { await sim.close(); }
}, 300_000);
