import { defineCommand } from 'citty';

/**
 * `lab capture …` and `lab restore …`: thin routers over the capture commands, which live in
 * commands/capture-{data,vm,timers}.ts (their runs are in @lab/engine) and load lazily.
 */
export const captureCommand = defineCommand({
  meta: { name: 'capture', description: 'Back up personas: data (restic), whole VMs (vzdump), templates; verify by restoring' },
  subCommands: {
    data: () => import('./capture-data.js').then((m) => m.captureDataCommand),
    vm: () => import('./capture-vm.js').then((m) => m.captureVmCommand),
    template: () => import('./capture-vm.js').then((m) => m.captureTemplateCommand),
    verify: () => import('./capture-data.js').then((m) => m.captureVerifyCommand),
    replicate: () => import('./capture-data.js').then((m) => m.captureReplicateCommand),
    snapshots: () => import('./capture-data.js').then((m) => m.captureSnapshotsCommand),
    backups: () => import('./capture-vm.js').then((m) => m.captureBackupsCommand),
    timers: () => import('./capture-timers.js').then((m) => m.captureTimersCommand),
  },
});

export const restoreCommand = defineCommand({
  meta: { name: 'restore', description: 'Restore a persona’s data (restic) or VM (vzdump archive)' },
  subCommands: {
    data: () => import('./capture-data.js').then((m) => m.restoreDataCommand),
    vm: () => import('./capture-vm.js').then((m) => m.restoreVmCommand),
  },
});
