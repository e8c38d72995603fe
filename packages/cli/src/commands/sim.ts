import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { createContext, globalArgs, type CliContext } from '../context.js';
import { type GuestMode, standInsFor, startEmbedded } from '@lab/engine';

interface SimDefaults {
  readonly stateDir: string;
  readonly nodes: readonly (string | { readonly name: string; readonly cpus?: number; readonly memory?: number })[] | number;
  readonly guests: GuestMode | undefined;
  readonly pve: string | undefined;
  readonly standInImages: readonly import('@lab/pve-sim').StandInImage[];
  /** The lab's personas: the guests this simulator may have to run. */
  readonly expectedGuests?: number;
}

/** Inside a lab with an embedded endpoint, default to its state dir, nodes and guest mode. */
async function defaults(ctx: CliContext): Promise<SimDefaults> {
  try {
    const { loadSite, listPersonaNames } = await import('@lab/intent');
    const root = ctx.root();
    const { site } = await loadSite(root);
    if (site.proxmox.mode === 'embedded') {
      const personas = await listPersonaNames(root).catch(() => [] as string[]);
      return {
        stateDir: resolve(root, site.proxmox.stateDir),
        nodes: site.nodes.map((n) => ({ name: n.name, cpus: n.cores, memory: n.memory })),
        guests: site.proxmox.guests,
        pve: site.proxmox.version,
        standInImages: standInsFor(site),
        expectedGuests: personas.length,
      };
    }
  } catch {
    // Not in a lab: a standalone simulator for other tools.
  }
  return { stateDir: resolve('.lab/sim'), nodes: 1, guests: undefined, pve: undefined, standInImages: [] };
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

const start = defineCommand({
  meta: { name: 'start', description: 'Run the Proxmox VE simulator (8.4 or 9.1) in the foreground (API over HTTPS, guests, SSH jump host)' },
  args: {
    ...globalArgs,
    nodes: { type: 'string', description: 'Node count (pve1..pveN) or comma-separated names; default: lab.yaml nodes, else 1' },
    guests: { type: 'string', description: 'docker (real Debian guests) or none (records only); default: lab.yaml, else docker when an engine answers' },
    state: { type: 'string', description: 'State directory (survives restarts); default: lab.yaml stateDir, else ./.lab/sim', valueHint: 'dir' },
    port: { type: 'string', description: 'API port on 127.0.0.1 (default: a free one)' },
    http: { type: 'boolean', description: 'Plain HTTP instead of HTTPS', default: false },
    pve: { type: 'string', description: 'Proxmox VE release to speak: 8.4 or 9.1 (default: lab.yaml proxmox.version, else 8.4)', valueHint: 'release' },
    timing: { type: 'string', description: 'realistic (default: 3 s 401 delay, tasks take seconds, pvestatd lag) or fast (tests)', valueHint: 'realistic|fast' },
    'jump-key': { type: 'string', description: 'OpenSSH public key file allowed through the jump host (default: ~/.ssh/id_ed25519.pub when present)', valueHint: 'file' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const d = await defaults(ctx);
    const nodes = args.nodes ? (/^\d+$/.test(args.nodes) ? Number(args.nodes) : args.nodes.split(',')) : d.nodes;
    const guests = (args.guests ?? d.guests ?? 'docker') as GuestMode;
    if (guests !== 'docker' && guests !== 'none') {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--guests must be docker or none, not '${String(guests)}'`, hint: 'lab sim start --guests none' });
    }
    const timing = args.timing ?? 'realistic';
    if (timing !== 'realistic' && timing !== 'fast') {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--timing must be realistic or fast, not '${timing}'`, hint: 'lab sim start --timing fast' });
    }
    const keyFile = args['jump-key'] ?? `${process.env.HOME ?? ''}/.ssh/id_ed25519.pub`;
    let keys: string[] = [];
    try {
      keys = readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
    } catch {
      if (args['jump-key']) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `cannot read ${keyFile}`, hint: 'pass an OpenSSH public key file' });
    }
    const sim = await startEmbedded({
      stateDir: args.state ? resolve(args.state) : d.stateDir,
      nodes,
      guests,
      reporter: ctx.reporter,
      authorizedKeys: keys,
      publish: true,
      timing,
      ...((args.pve ?? d.pve) === undefined ? {} : { pve: (args.pve ?? d.pve)! }),
      standInImages: d.standInImages,
      ...(guests === 'docker' && d.expectedGuests ? { expectedGuests: d.expectedGuests } : {}),
      ...(args.port ? { port: Number(args.port) } : {}),
      ...(args.http ? { https: false } : {}),
    });
    if (sim.shared) {
      await sim.close();
      throw new LabError({
        code: 'LAB_SIM_RUNNING',
        summary: `a simulator already serves this state dir at ${sim.url}`,
        hint: 'stop it first, or pass another --state',
      });
    }
    const info = {
      url: sim.url,
      fingerprint: sim.fingerprint,
      certificatePem: sim.certificatePem,
      nodes: sim.nodes,
      guests: sim.guests,
      adminToken: sim.adminToken,
      jumpHost: sim.jumpHost,
      pveVersion: sim.pveVersion,
      rootPasswordFile: sim.rootPasswordFile,
      timing,
      pid: process.pid,
    };
    if (ctx.json) {
      ctx.io.out(JSON.stringify(info));
    } else {
      ctx.io.out(
        [
          `Proxmox VE ${sim.pveVersion} simulator: ${sim.url}/api2/json  (${sim.nodes.length} node(s): ${sim.nodes.join(', ')}; guests: ${sim.guests}; timing: ${timing})`,
          sim.fingerprint ? `certificate SHA-256 fingerprint: ${sim.fingerprint}` : 'plain HTTP (no certificate)',
          `admin API token:   Authorization: PVEAPIToken=${sim.adminToken.id}=${sim.adminToken.secret}`,
          `root@pam password: in ${sim.rootPasswordFile} (for ticket logins: POST /access/ticket)`,
          `SSH jump host:     ssh -J root@${sim.jumpHost.host}:${sim.jumpHost.port} <user>@<vm address>`,
          `  known_hosts:     ${sim.jumpHost.knownHostsLine}`,
          'Ctrl-C stops it; state is kept for the next start.',
        ].join('\n'),
      );
    }
    const signal = await waitForSignal();
    ctx.io.err(`${signal}: stopping the simulator`);
    await sim.close();
    return ExitCode.Ok;
  },
});

export const simCommand = defineCommand({
  meta: { name: 'sim', description: 'The bundled Proxmox VE simulator' },
  subCommands: { start },
});
