import { it } from 'vitest';
import { SshConnection } from '@lab/ssh';
import { checkL3, applyL3, emptyIntent, type L3Intent } from '@lab/l3-os';
import { startSimGuests } from './_sim.js';

it('scratch', async () => {
  const t0 = performance.now();
  const sim = await startSimGuests(1, 'scr');
  console.error('boot', Math.round(performance.now() - t0));
  const g = sim.guests[0]!;
  const c = await SshConnection.open(g.target);
  try {
    const intent: L3Intent = { ...emptyIntent(g.name), packages: [{ name: 'htop', state: 'present' }], services: [{ name: 'ssh.service', enabled: true, state: 'running', masked: false, restartOn: [] }] };
    await applyL3(undefined, intent, { host: c }).catch((e) => { console.error(e.format()); throw e; });
    for (let i = 0; i < 3; i++) {
      const r = await checkL3(intent, { host: c });
      console.error('check', r.durationMs, r.roundTrips, r.plan.changes.filter((x) => x.action !== 'noop').length);
    }
  } finally {
    await c.close();
    await sim.close();
  }
}, 300_000);
