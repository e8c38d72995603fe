/**
 * @lab/capture — "infrastructure is disposable, data is durable", made testable: whole-VM
 * backups through Proxmox's vzdump with retention and restore, template capture of converged
 * VMs, restic backups of each persona's data through the lab's SSH, replication to a second
 * repository, and restore drills that prove a backup by restoring it.
 */
export * from './vm/index.js';
export * from './data/index.js';
