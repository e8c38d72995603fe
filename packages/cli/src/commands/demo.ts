import { existsSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError, runStep } from '@lab/core';
import { guestReach, localImagesOverrides, renderGraph, startEmbeddedLabOver } from '@lab/engine';
import { loadLab } from '@lab/intent';
import { parseDocument, type Document } from 'yaml';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { createScratchLab } from '../scratch-lab.js';
import { demoSteps, type DemoStep } from './demo-steps.js';

/** One row of the closing table. */
interface Row {
  readonly step: DemoStep;
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly ms: number;
  readonly note?: string;
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`;
}

function closingTable(rows: readonly Row[], totalMs: number): string {
  const mark = { ok: '✓', failed: '✗', skipped: '–' } as const;
  const width = Math.max(...rows.map((r) => r.step.title.length), 10);
  const lines = rows.map((r) => `  ${mark[r.status]} ${r.step.title.padEnd(width)}  ${formatDuration(r.ms).padStart(7)}${r.note ? `  ${r.note}` : ''}`);
  return ['', 'lab demo — every step and its wall time:', ...lines, `  ${' '.repeat(width + 2)}  ${formatDuration(totalMs).padStart(7)}  in all`].join('\n');
}

/** Makes (or refreshes) the scratch copy the demo works on; returns its root. */
async function scratchCopy(ctx: CliContext, repo: string, base: string, fresh: boolean): Promise<string> {
  const say = (s: string) => ctx.io.err(s);
  const root = join(base, 'lab');
  const edits = demoSiteEdits(await localImagesOverrides(join(repo, 'tools/test-images')));
  if (fresh) {
    if (existsSync(join(root, 'lab.yaml'))) {
      const gone = await startEmbeddedLabOver(root);
      if (gone.containers > 0) say(`Started over: removed the ${gone.containers} guest(s) of the previous demo and its simulator state.`);
    }
    await rm(base, { recursive: true, force: true });
  }
  if (!existsSync(join(root, 'lab.yaml'))) {
    say(`The example lab's secrets are encrypted to its maintainers' age keys, which this machine does not have.`);
    say(`So the demo works on a copy in ${base}: a new age identity, generated secret values, an SSH key for the lab.`);
    const scratch = await runStep(ctx.reporter, 'make the scratch copy of the example lab', async () =>
      createScratchLab({ from: repo, to: root, identityFile: join(base, 'age.key'), sshKeyFile: join(base, 'id_ed25519'), edit: edits }),
    );
    say(`${scratch.secrets.length} secrets generated and encrypted; identity ${scratch.identityFile}\n`);
    return root;
  }
  // The intent follows the repository (keys, secrets and simulator state stay): a demo run
  // after a `git pull` shows the change, not last week's lab.
  await rm(join(root, 'personas'), { recursive: true, force: true });
  await cp(join(repo, 'personas'), join(root, 'personas'), { recursive: true });
  const mine = parseDocument(await readFile(join(root, 'lab.yaml'), 'utf8'));
  const site = parseDocument(await readFile(join(repo, 'lab.yaml'), 'utf8'));
  for (const path of [['secrets', 'recipients'], ['ssh', 'identityFile']]) site.setIn(path, mine.getIn(path));
  edits(site);
  await writeFile(join(root, 'lab.yaml'), site.toString());
  say(`Reusing the scratch copy in ${base}, with lab.yaml and the personas refreshed from the repository (pass --fresh to start over).\n`);
  return root;
}

/**
 * Where the demo's lab.yaml differs from the repository's: no registry is reachable here, so
 * the stacks' upstream images are replaced by images built on this machine from Debian's
 * packages (real programs where Debian has them, labelled stand-ins where it does not) and
 * pushed to the guests over SSH; the example's stable personas accept the stand-ins explicitly.
 */
function demoSiteEdits(overrides: unknown): (doc: Document) => void {
  return (doc) => {
    doc.setIn(['workloads', 'imageDelivery'], 'push');
    doc.setIn(['workloads', 'allowStandIns'], true);
    doc.setIn(['workloads', 'imageOverrides'], doc.createNode(overrides));
  };
}

/**
 * The README's main job: the example lab of this repository brought up on the embedded Proxmox
 * simulator and operated for a day, in one command — up (L0 → L4), a second up that changes
 * nothing, hand edits found by drift and repaired, a data capture and its restore drill, a
 * rebuild with the data carried over, and a closing table of every step with its wall time. It
 * works on a scratch copy under .lab/demo (its own age identity, secrets and SSH key), so the
 * repository is never modified; a re-run resumes (every step converges), `--fresh` starts over.
 */
export const demoCommand = defineCommand({
  meta: { name: 'demo', description: 'Bring the example lab up on the embedded Proxmox simulator and operate it: drift, capture, restore drill, rebuild' },
  args: { ...globalArgs, fresh: { type: 'boolean', description: 'Start from an empty simulator and a new scratch copy', default: false } },
  async run({ args }) {
    const ctx = createContext(args);
    const say = (s: string) => ctx.io.err(s);
    const repo = ctx.root();
    const base = join(repo, '.lab/demo');
    const t0 = Date.now();

    say('lab demo — the example lab of this repository on the bundled Proxmox VE simulator.\n');
    const root = await scratchCopy(ctx, repo, base, args.fresh);
    process.env.LAB_AGE_KEY_FILE = join(base, 'age.key');
    const lab = await loadLab(root);
    if (lab.site.site.proxmox.mode !== 'embedded') {
      throw new LabError({ code: 'LAB_DEMO_REMOTE', summary: 'the demo runs only on the embedded simulator', hint: 'use the example lab.yaml of this repository' });
    }
    say('The personas and the layers that build them (Mermaid; paste into any Markdown viewer):');
    ctx.io.out(renderGraph(lab));

    const { main } = await import('../main.js');
    const flags = ['--root', root, ...(args.verbose ? ['-v'] : [])];
    const reach = await guestReach(lab);
    const steps = demoSteps({ root, repo, guests: reach.ok, lab: (argv) => main([...argv, ...flags], ctx.io), ctx });

    const rows: Row[] = [];
    let failed = false;
    for (const [i, step] of steps.entries()) {
      if (failed || (step.needsGuests && !reach.ok)) {
        rows.push({ step, status: 'skipped', ms: 0, ...(failed ? {} : { note: 'needs real guests' }) });
        continue;
      }
      say(`\n${i + 1}. ${step.title}`);
      for (const line of step.why) say(`   ${line}`);
      const ts = Date.now();
      let outcome: { ok: boolean; note?: string };
      try {
        outcome = await step.run();
      } catch (error) {
        const e = error instanceof LabError ? error : undefined;
        say(e ? e.format() : String(error));
        outcome = { ok: false };
      }
      rows.push({ step, status: outcome.ok ? 'ok' : 'failed', ms: Date.now() - ts, ...(outcome.note ? { note: outcome.note } : {}) });
      if (!outcome.ok) failed = true;
    }

    say(closingTable(rows, Date.now() - t0));
    if (!reach.ok) {
      say(`\nL3 and L4 need real guests to SSH into: ${reach.reason}.`);
      say('Start a Docker engine (as root: bash tools/docker/ensure-dockerd.sh) and run `pnpm demo` again: the lab picks up where it stopped.');
    }
    if (failed) {
      say('\nThe demo stopped at the failed step; fix what it says and run `pnpm demo` again: every step converges, so it resumes.');
      return ExitCode.Error;
    }
    say('\nWhere to look:');
    say(`  pnpm lab log --root ${root}            the journal: every step above, layer by layer`);
    say(`  pnpm lab drift --root ${root}          compare the lab with its intent (exit 2 on drift)`);
    say(`  pnpm lab ssh --persona edge --root ${root}    a shell in a guest, through the jump host with pinned keys`);
    say(`  pnpm lab docs --root ${root}           the lab's documentation in ${root}/docs/generated`);
    say(`  pnpm lab sim start --root ${root}      the simulator's endpoint for other Proxmox clients`);
    say(`  pnpm lab serve --root ${root}          the lab at a glance: http://127.0.0.1:7777/ (read-only; --port N)`);
    return ExitCode.Ok;
  },
});
