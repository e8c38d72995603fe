import { startSimGuests } from '@lab/testkit';
import { readFileSync, writeFileSync } from 'node:fs';
const sim = await startSimGuests(1, 'dbg');
const g = sim.guests[0]!;
const sh = (c: string) => sim.sh(g, c).catch((e) => String(e));
console.log(await sh(['export DEBIAN_FRONTEND=noninteractive', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io docker-compose prometheus-node-exporter curl >/dev/null || return 1', 'systemctl start docker; for i in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done'].join('\n')));
const b64 = (f: string) => Buffer.from(readFileSync(f)).toString('base64');
const files = ['build.sh', 'recipes/alertmanager.conf', 'recipes/prometheus.conf'];
console.log(await sh(files.map((f) => `mkdir -p /tmp/ti/recipes && echo ${b64('../../tools/test-images/' + f)} | base64 -d > /tmp/ti/${f}`).join('\n') + '\nbash /tmp/ti/build.sh'));
writeFileSync('/tmp/dbg-ready', 'x');
// Serve commands from a file loop for 20 minutes.
const end = Date.now() + 20 * 60_000;
let n = 0;
while (Date.now() < end) {
  try {
    const cmd = readFileSync(`/tmp/dbg-cmd-${n}`, 'utf8');
    writeFileSync(`/tmp/dbg-out-${n}`, await sh(cmd));
    n++;
  } catch { await new Promise((r) => setTimeout(r, 500)); }
}
await sim.close();
