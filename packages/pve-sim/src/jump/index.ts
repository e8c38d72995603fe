/**
 * The simulated Proxmox node's SSH jump host: clients log in with a public key and open
 * `direct-tcpip` channels to a VM's declared address (as `ssh -J root@pve ops@10.20.0.10`
 * would); the jump host maps each to the guest's loopback-published port and dials nothing else.
 */
export { startJumpHost } from './jump-host.js';
export type { JumpHost, JumpHostEvent, JumpHostOptions } from './jump-host.js';
export { loadOrCreateHostKey } from './_host-key.js';
export type { HostKey } from './_host-key.js';
