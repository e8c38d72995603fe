import { defineCommand } from 'citty';

/** Commands load lazily: `lab validate` must not pay for the simulator or SSH code. */
export const rootCommand = defineCommand({
  meta: { name: 'lab', description: 'Run a Proxmox home lab from Git' },
  subCommands: {
    init: () => import('./init.js').then((m) => m.initCommand),
    validate: () => import('./validate.js').then((m) => m.validateCommand),
    plan: () => import('./layers.js').then((m) => m.planCommand),
    check: () => import('./layers.js').then((m) => m.checkCommand),
    apply: () => import('./layers.js').then((m) => m.applyCommand),
    destroy: () => import('./layers.js').then((m) => m.destroyCommand),
    personas: () => import('./personas.js').then((m) => m.personasCommand),
    schema: () => import('./schema.js').then((m) => m.schemaCommand),
    graph: () => import('./graph.js').then((m) => m.graphCommand),
    secret: () => import('./secret.js').then((m) => m.secretCommand),
    image: () => import('./image.js').then((m) => m.imageCommand),
    adopt: () => import('./adopt.js').then((m) => m.adoptCommand),
    up: () => import('./up.js').then((m) => m.upCommand),
    down: () => import('./up.js').then((m) => m.downCommand),
    drift: () => import('./drift.js').then((m) => m.driftCommand),
    sim: () => import('./sim.js').then((m) => m.simCommand),
    demo: () => import('./demo.js').then((m) => m.demoCommand),
    capture: () => import('./capture.js').then((m) => m.captureCommand),
    restore: () => import('./capture.js').then((m) => m.restoreCommand),
    rebuild: () => import('./rebuild.js').then((m) => m.rebuildCommand),
    log: () => import('./log.js').then((m) => m.logCommand),
    docs: () => import('./docs.js').then((m) => m.docsCommand),
    metrics: () => import('./metrics.js').then((m) => m.metricsCommand),
    serve: () => import('./serve.js').then((m) => m.serveCommand),
    reap: () => import('./reap.js').then((m) => m.reapCommand),
    ssh: () => import('./ssh.js').then((m) => m.sshCommand),
  },
});
