import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError, runStep } from '@lab/core';
import { loadLab } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';
import { createScratchLab } from '../scratch-lab.js';
import { guestReach, renderGraph } from '@lab/engine';

/**
 * The one switch for L4 in the demo. The example personas' stacks name upstream images
 * (jellyfin, vaultwarden, grafana…) that no registry reachable here can serve, so applying L4
 * would fail on every pull; until the test lane's image overrides map them to local images,
 * the demo brings the lab up to L3 and only checks L4 (a dry run). Set this to true to make
 * the demo's `lab up` include L4.
 */
export const DEMO_APPLIES_L4 = false;

const UP_LAYERS = DEMO_APPLIES_L4 ? 'l0,l1,l2,l3,l4' : 'l0,l1,l2,l3';

/**
 * The README's main job: the example lab of this repository brought up on the embedded Proxmox
 * simulator with `lab up --all`, then `lab up` again to show that nothing is left to change. It
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
      // The intent follows the repository (keys, secrets and simulator state stay): a demo run
      // after a `git pull` shows the change, not last week's personas.
      await rm(join(root, 'personas'), { recursive: true, force: true });
      await cp(join(repo, 'personas'), join(root, 'personas'), { recursive: true });
      say(`0. Reusing the scratch copy in ${base}, with the personas refreshed from the repository (pass --fresh to start over).\n`);
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

    const reach = await guestReach(lab);
    say('\n3. `lab up --all`: one plan across every layer first — L0 the Proxmox host (least-privilege role, user, token),');
    say('   L1 the image templates, L2 the VMs, L3 each guest\'s OS over SSH — with the impact of every change. What cannot');
    say('   be read yet (a VM still to be created) is planned from intent and marked so. Then each layer is planned again');
    say('   against the lab as it is at that moment and applied, in order. The simulator starts in-process on first use;');
    say('   catalogue URLs are served as stand-in images (docs/simulator.md).');
    if (reach.ok) say('   L3 runs apt inside each guest: allow a few minutes on a first run.');
    else say(`   Here L3 and L4 cannot run: ${reach.reason}. So the demo stops after L2.`);
    if (!DEMO_APPLIES_L4) say('   L4 is left out of `up` here: the example stacks name upstream images no registry here can serve (step 5).');
    if ((await run(['up', '--all', '--layer', UP_LAYERS, '-y'])) !== ExitCode.Ok) return ExitCode.Error;

    say('\n4. `lab up --all` again: every layer is planned against the lab it just built; nothing changes (exit 0).');
    const again = await run(['up', '--all', '--layer', UP_LAYERS]);
    if (again !== ExitCode.Ok) return again;

    if (!reach.ok) {
      say('\n5. L3 and L4 need real guests to SSH into. Start a Docker engine (as root: bash tools/docker/ensure-dockerd.sh)');
      say('   and run `pnpm demo` again: the lab picks up where it stopped.');
    } else if (!DEMO_APPLIES_L4) {
      say('\n5. L4 as a dry run: each stack rendered, validated and compared with what runs in its guest (secrets masked).');
      say('   Applying it would pull upstream images, which no registry reachable here serves (DEMO_APPLIES_L4 in demo.ts).');
      const l4 = await run(['check', '--layer', 'l4', '--all']);
      if (l4 === ExitCode.Error) return l4;
    }

    say('\nWhere to look:');
    say(`  pnpm lab sim start --root ${root}      the simulator's endpoint (URL, fingerprint, admin token, jump host) for other Proxmox clients`);
    say(`  pnpm lab log --root ${root}            the journal: what this demo changed, layer by layer`);
    say(`  pnpm lab drift --root ${root}          compare the lab with its intent (exit 2 on drift)`);
    say(`  pnpm lab docs --root ${root}           write the lab's documentation to ${root}/docs/generated (inventory, network, a page per persona)`);
    say('  docker ps --filter label=lab.pve-sim.instance    the guests (when a Docker engine runs)');
    say(`  ${root}/.lab/known_hosts                  host keys pinned before first boot`);
    return ExitCode.Ok;
  },
});
