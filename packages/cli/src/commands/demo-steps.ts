import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '@lab/core';
import { ensureLocalImages, openGuest } from '@lab/engine';
import type { CliContext } from '../context.js';

/** One step of the demo: what it shows, why, and how it runs (every step converges on a re-run). */
export interface DemoStep {
  readonly id: string;
  readonly title: string;
  readonly why: readonly string[];
  readonly needsGuests: boolean;
  run(): Promise<{ readonly ok: boolean; readonly note?: string }>;
}

export interface DemoInputs {
  readonly root: string;
  /** The repository (its tools/test-images recipes). */
  readonly repo: string;
  /** Whether real guests (Docker) run: without them the demo stops after L2. */
  readonly guests: boolean;
  /** Runs `lab <argv> --root <scratch>` in this process and returns its exit code. */
  lab(argv: readonly string[]): Promise<number>;
  readonly ctx: CliContext;
}

/** The persona whose guest gets the hand edits, and the one that is rebuilt. */
const EDITED = 'edge';
const REBUILT = 'media';
const MARKER = '/srv/appdata/demo/written-before-rebuild.txt';

function expect(code: number, wanted: number, note?: string): { ok: boolean; note?: string } {
  if (code !== wanted) return { ok: false, note: `exit ${code}, expected ${wanted}` };
  return note ? { ok: true, note } : { ok: true };
}

export function demoSteps(d: DemoInputs): DemoStep[] {
  const env = { reporter: d.ctx.reporter, root: () => d.root };
  const inGuest = async (persona: string, command: string): Promise<{ code: number | null; stdout: string }> => {
    const guest = await openGuest(env, persona);
    try {
      return await guest.run(command, { sudo: true });
    } finally {
      await guest.close();
    }
  };
  const upLayers = d.guests ? [] : ['--layer', 'l0,l1,l2'];
  let marker = '';

  return [
    {
      id: 'validate',
      title: 'lab validate',
      why: ['lab.yaml and every persona, with every referenced secret: errors name file:line:col and the fix.'],
      needsGuests: false,
      run: async () => expect(await d.lab(['validate']), ExitCode.Ok),
    },
    {
      id: 'images',
      title: 'workload images, built here from Debian packages',
      why: [
        'No registry is reachable here (nor in many air-gapped labs): the images the stacks need are built once on this',
        'machine from Debian\'s packages (cached by recipe hash) and pushed to each guest over SSH (docker save → load).',
        'Real programs where Debian has them (Prometheus, Alertmanager, Caddy, qBittorrent); labelled stand-ins elsewhere.',
      ],
      needsGuests: true,
      run: async () => {
        const r = await ensureLocalImages({ reporter: d.ctx.reporter, dir: join(d.repo, 'tools/test-images') });
        const built = r.images.filter((i) => !i.cached).length;
        const standIns = r.images.filter((i) => i.kind === 'stand-in').length;
        return { ok: true, note: `${r.images.length} images (${built} built, ${standIns} stand-ins)` };
      },
    },
    {
      id: 'up',
      title: 'lab up --all (L0 → L4)',
      why: [
        'One plan across every layer first, with the impact of every change; then each layer is planned again and applied:',
        'L0 the Proxmox host (least-privilege role, user, token), L1 the templates (the baked one holds the mixins),',
        'L2 the VMs (in parallel), L3 each guest\'s OS over SSH, L4 the Compose stacks through their health gates.',
      ],
      needsGuests: false,
      run: async () => expect(await d.lab(['up', '--all', '-y', ...upLayers]), ExitCode.Ok),
    },
    {
      id: 'up-again',
      title: 'lab up --all again: no changes',
      why: ['Every layer planned against the lab it just built: nothing to do (exit 0).'],
      needsGuests: false,
      run: async () => expect(await d.lab(['up', '--all', ...upLayers]), ExitCode.Ok, 'No changes'),
    },
    {
      id: 'hand-edits',
      title: `hand edits in ${EDITED}, data written in ${REBUILT}`,
      why: [
        `As someone would at 2 a.m.: in ${EDITED}, sshd's MaxAuthTries loosened and the Caddy container stopped (\`lab ssh\`).`,
        `In ${REBUILT}, a file written on its persistent appdata disk: it must survive the rebuild below.`,
      ],
      needsGuests: true,
      run: async () => {
        const edit = await inGuest(EDITED, "sed -i 's/^MaxAuthTries .*/MaxAuthTries 10/' /etc/ssh/sshd_config && docker ps -q --filter label=com.docker.compose.service=caddy | xargs -r docker stop >/dev/null");
        marker = `written by the demo at ${new Date().toISOString()}`;
        const data = await inGuest(REBUILT, `mkdir -p ${MARKER.replace(/\/[^/]+$/, '')} && printf '%s\\n' '${marker}' > ${MARKER}`);
        return { ok: edit.code === 0 && data.code === 0 };
      },
    },
    {
      id: 'drift',
      title: 'lab drift --all finds them (exit 2)',
      why: ['L2 config, L3 facts and L4 stacks compared with intent; nothing is changed.'],
      needsGuests: true,
      run: async () => expect(await d.lab(['drift', '--all']), 2, 'drift found'),
    },
    {
      id: 'repair',
      title: 'lab up --all repairs the drift',
      why: ['The same plan-then-apply: the sshd line put back (sshd restarted by its handler), the stack started again.'],
      needsGuests: true,
      run: async () => expect(await d.lab(['up', '--all', '-y']), ExitCode.Ok),
    },
    {
      id: 'drift-clean',
      title: 'lab drift --all: clean',
      why: ['The lab matches its intent again.'],
      needsGuests: true,
      run: async () => expect(await d.lab(['drift', '--all']), ExitCode.Ok),
    },
    {
      id: 'capture',
      title: `lab capture data --persona ${REBUILT}`,
      why: ['restic in the guest, the repository served from this machine through the SSH connection; stacks paused for a consistent copy.'],
      needsGuests: true,
      run: async () => expect(await d.lab(['capture', 'data', '--persona', REBUILT]), ExitCode.Ok),
    },
    {
      id: 'verify',
      title: `lab capture verify --persona ${REBUILT} (restore drill)`,
      why: ['A backup is proven by restoring it: restore into scratch, check every file against the hashes taken at backup time.'],
      needsGuests: true,
      run: async () => expect(await d.lab(['capture', 'verify', '--persona', REBUILT]), ExitCode.Ok),
    },
    {
      id: 'rebuild',
      title: `lab rebuild --persona ${REBUILT}`,
      why: ['capture → destroy (data disks kept) → create → converge → restore → deploy → verify: a new machine from intent, its data carried over.'],
      needsGuests: true,
      run: async () => {
        const resume = existsSync(join(d.root, '.lab/rebuild', `${REBUILT}.json`)) ? ['--resume'] : [];
        return expect(await d.lab(['rebuild', '--persona', REBUILT, '-y', ...resume]), ExitCode.Ok);
      },
    },
    {
      id: 'data-kept',
      title: `the data written before the rebuild is in the new ${REBUILT}`,
      why: [`Read back from ${MARKER} in the rebuilt guest.`],
      needsGuests: true,
      run: async () => {
        const r = await inGuest(REBUILT, `cat ${MARKER}`);
        const got = r.stdout.trim();
        return { ok: r.code === 0 && (marker === '' || got === marker), note: got ? `“${got}”` : 'missing' };
      },
    },
  ];
}
