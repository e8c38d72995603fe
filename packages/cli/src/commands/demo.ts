import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError, runStep } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { availableLayers } from '../layers/registry.js';
import { createScratchLab } from '../scratch-lab.js';
import { renderGraph } from './graph.js';

/**
 * The README's main job: the example lab of this repository brought up on the embedded Proxmox
 * simulator, layer by layer, then planned again to show that nothing is left to change. It
 * works on a scratch copy under .lab/demo (its own age identity, secrets and SSH key), so the
 * repository is never modified, and says what it does and why at each step.
 */
export const demoCommand = defineCommand({
  meta: { name: 'demo', description: 'Bring the example lab up on the embedded Proxmox simulator, then show a second run changes nothing' },
  args: { ...globalArgs, fresh: { type: 'boolean', description: 'Start from an empty simulator and a new scratch copy', default: false } },
  async run({ args }) {
    const ctx = createContext(args);
    const say = (s: string) => ctx.io.err(s);
    const repo = ctx.root();
    const base = join(repo, '.lab/demo');
    const root = join(base, 'lab');
    const { main } = await import('../main.js');
    const flags = ['--root', root, ...(args.verbose ? ['-v'] : [])];
    const run = async (argv: string[]) => main([...argv, ...flags], ctx.io);

    say('lab demo — the example lab of this repository on the bundled Proxmox VE 8.4 simulator.\n');
    if (args.fresh) await rm(base, { recursive: true, force: true });
    if (!existsSync(join(root, 'lab.yaml'))) {
      say(`0. The example lab's secrets are encrypted to its maintainers' age keys, which this machine does not have.`);
      say(`   So the demo works on a copy in ${base}: a new age identity, generated secret values, an SSH key for the lab.`);
      const scratch = await runStep(ctx.reporter, 'make the scratch copy of the example lab', async () =>
        createScratchLab({ from: repo, to: root, identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519') }),
      );
      say(`   ${scratch.secrets.length} secrets generated and encrypted; identity ${scratch.identityFile}\n`);
    } else {
      say(`0. Reusing the scratch copy in ${base} (pass --fresh to start over).\n`);
    }
    process.env.LAB_AGE_KEY_FILE = join(base, 'age.key');

    say('1. Validate the intent: lab.yaml and every persona, including that every referenced secret exists.');
    const lab = await loadLab(root);
    if (lab.site.site.proxmox.mode !== 'embedded') {
      throw new LabError({ code: 'LAB_DEMO_REMOTE', summary: 'the demo runs only on the embedded simulator', hint: 'use the example lab.yaml of this repository' });
    }
    if ((await run(['validate'])) !== ExitCode.Ok) return ExitCode.Error;

    say('\n2. The personas and the layers that build them (Mermaid; paste into any Markdown viewer):');
    ctx.io.out(renderGraph(lab));

    const layers = availableLayers().filter((l) => ['l0', 'l1', 'l2'].includes(l));
    say(`\n3. L0 — check the Proxmox host against the lab and prepare it: a least-privilege role set, user, API token`);
    say('   (its secret stored encrypted), ACLs, pools, storage content. The simulator starts in-process on first use.');
    if ((await run(['apply', '--layer', 'l0', '-y'])) !== ExitCode.Ok) return ExitCode.Error;
    if (layers.includes('l1')) {
      say('\n4. L1 — build the image catalogue into versioned templates (download with checksum, import, cloud-init, template).');
      say('   The simulator reaches no network: catalogue URLs are served as stand-in images (docs/simulator.md).');
      if ((await run(['apply', '--layer', 'l1', '-y'])) !== ExitCode.Ok) return ExitCode.Error;
    }
    if (layers.includes('l2')) {
      say('\n5. L2 — the VMs: full clones of the templates, sized and wired as each persona says, host keys pinned,');
      say(`   started, guest agent awaited (${lab.site.site.proxmox.guests === 'docker' ? 'real Debian guests in Docker when an engine answers' : 'records only'}).`);
      if ((await run(['apply', '--layer', 'l2', '--all', '-y'])) !== ExitCode.Ok) return ExitCode.Error;
    }
    say(`\n6. The same plan again (${layers.join(', ')}): everything already matches its intent, so nothing changes (exit 0).`);
    const again = await run(['plan', '--layer', layers.join(','), '--all']);
    if (again !== ExitCode.Ok) return again;

    const { dockerEngineVersion } = await import('@lab/pve-sim');
    const guests = lab.site.site.proxmox.guests === 'docker' && (await dockerEngineVersion()) !== undefined;
    if (availableLayers().includes('l3') && !guests) {
      say('\n7. L3 and L4 need real guests to SSH into, and no Docker engine answers here: the demo stops after L2.');
      say('   Start one (as root: bash tools/docker/ensure-dockerd.sh) and run `pnpm demo` again.');
    }
    if (availableLayers().includes('l3') && guests) {
      say('\n7. L3 — what the guests\' operating systems still need, gathered over SSH through the node\'s jump host');
      say('   (one round trip per guest, host keys pinned by L2). A dry run: nothing on the guests changes.');
      const l3 = await run(['check', '--layer', 'l3', '--all']);
      if (l3 === ExitCode.Error) return l3;
      say(`   Converge them with: pnpm lab apply --layer l3 --all -y --root ${root}   (apt inside each guest; a few minutes)`);
    }
    say('\nWhere to look:');
    say(`  pnpm lab personas --root ${root}          the lab`);
    say(`  pnpm lab sim start --root ${root}         keep the simulator running for other Proxmox clients`);
    say('  docker ps --filter label=lab.pve-sim.instance       the guests (when a Docker engine runs)');
    say(`  ${root}/.lab/known_hosts                    host keys pinned before first boot`);
    return ExitCode.Ok;
  },
});
