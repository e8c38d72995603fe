import { defineCommand } from 'citty';

/** Commands load lazily: `lab validate` must not pay for the simulator or SSH code. */
export const rootCommand = defineCommand({
  meta: { name: 'lab', description: 'Run a Proxmox home lab from Git' },
  subCommands: {
    validate: () => import('./validate.js').then((m) => m.validateCommand),
    personas: () => import('./personas.js').then((m) => m.personasCommand),
    schema: () => import('./schema.js').then((m) => m.schemaCommand),
    graph: () => import('./graph.js').then((m) => m.graphCommand),
    secret: () => import('./secret.js').then((m) => m.secretCommand),
    sim: () => import('./sim.js').then((m) => m.simCommand),
    demo: () => import('./demo.js').then((m) => m.demoCommand),
  },
});
