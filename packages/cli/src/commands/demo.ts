import { request } from 'node:https';
import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError, runStep } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { startEmbedded, type EmbeddedSim } from '../sim/embedded.js';
import { standInsFor } from '../sim/stand-ins.js';
import { renderGraph } from './graph.js';

function apiGet(sim: EmbeddedSim, path: string): Promise<unknown> {
  return new Promise((done, fail) => {
    const req = request(
      `${sim.url}/api2/json${path}`,
      // Trust exactly the simulator's own certificate: pinned, never unverified.
      { ...(sim.certificatePem ? { ca: sim.certificatePem } : {}), headers: { Authorization: `PVEAPIToken=${sim.adminToken.id}=${sim.adminToken.secret}` } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => (res.statusCode === 200 ? done((JSON.parse(body) as { data: unknown }).data) : fail(new Error(`${path}: HTTP ${res.statusCode} ${res.statusMessage}`))));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/**
 * The README's main job: show the example lab end to end on the embedded simulator. It says
 * what it does and why at each step, and leaves the simulator's state in the lab's state dir.
 */
export const demoCommand = defineCommand({
  meta: { name: 'demo', description: 'Validate and list the example lab, then run it against the embedded Proxmox simulator' },
  args: { ...globalArgs },
  async run({ args }) {
    const ctx = createContext(args);
    const say = (s: string) => ctx.io.err(s);
    const root = ctx.root();

    say('lab demo — the example lab in this repository, against the bundled Proxmox VE 8.4 simulator.\n');
    say('1. Validate the intent (lab.yaml and every persona; secret references must exist, encrypted):');
    const lab = await runStep(ctx.reporter, 'validate lab.yaml and personas', async () => loadLab(root));
    say(`   ${lab.personas.length} personas: ${lab.personas.map((p) => p.name).join(', ')}\n`);

    say('2. The personas and how they map onto the layers (Mermaid; paste into any Markdown viewer):');
    ctx.io.out(renderGraph(lab));
    say('');

    const px = lab.site.site.proxmox;
    if (px.mode !== 'embedded') {
      throw new LabError({ code: 'LAB_DEMO_REMOTE', summary: 'lab.yaml points at a real Proxmox; the demo runs only on the embedded simulator', hint: 'use the example lab.yaml of this repository' });
    }
    say(`3. Start the embedded simulator (${lab.site.site.nodes.length} nodes, ${px.guests} guests; state in ${px.stateDir}):`);
    const sim = await runStep(ctx.reporter, 'start the simulator', async () =>
      startEmbedded({ stateDir: resolve(root, px.stateDir), nodes: lab.site.site.nodes.map((n) => ({ name: n.name, cpus: n.cores, memory: n.memory })), guests: px.guests, reporter: ctx.reporter, standInImages: standInsFor(lab.site.site) }),
    );
    try {
      const version = (await apiGet(sim, '/version')) as { version: string };
      const nodes = (await apiGet(sim, '/nodes')) as { node: string; status: string; maxcpu: number; maxmem: number }[];
      const storages = (await apiGet(sim, '/storage')) as { storage: string; type: string; content: string }[];
      say(`   Proxmox VE ${version.version} at ${sim.url} (certificate ${sim.fingerprint?.slice(0, 23)}…)`);
      for (const n of nodes) say(`   node ${n.node}: ${n.status}, ${n.maxcpu} CPU, ${Math.round(n.maxmem / 2 ** 30)} GiB`);
      for (const s of storages) say(`   storage ${s.storage} (${s.type}): ${s.content}`);
      say(`   SSH jump host: 127.0.0.1:${sim.jumpHost.port} (guests: ${sim.guests})`);
    } finally {
      await sim.close();
    }
    say('\n4. L0 — prepare the host: check it against the lab, create the least-privilege role, user, token,');
    say('   ACLs and pools, enable missing storage content (admin credentials: the simulator\'s admin token):');
    const { main } = await import('../main.js');
    const flags = ['--root', root, ...(args.verbose ? ['-v'] : [])];
    const applied = await main(['apply', '--layer', 'l0', '-y', ...flags], ctx.io);
    if (applied !== ExitCode.Ok) return applied;
    say('\n5. Check L0 again, now as the lab\'s own token: nothing left to change (exit 0).');
    const checked = await main(['check', '--layer', 'l0', ...flags], ctx.io);
    if (checked !== ExitCode.Ok) return checked;
    say('\nNext: `pnpm lab sim start` keeps the simulator running for other tools; `pnpm lab personas` lists the lab;');
    say('edit personas/*/persona.yaml and `pnpm lab validate` shows exactly what is wrong, where, and how to fix it.');
    return ExitCode.Ok;
  },
});
