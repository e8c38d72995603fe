import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { LabError, Secret } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { pinHostKey, SshPool, type SshConnection, type SshTarget } from '@lab/ssh';
import type { LayerContext } from './adapter.js';
import { embeddedJumpHost } from './proxmox.js';

/** `~/x` and lab-root-relative paths, as lab.yaml writes them. */
export function expandHome(root: string, file: string): string {
  if (file === '~' || file.startsWith('~/')) return resolve(homedir(), file.slice(2));
  return isAbsolute(file) ? file : resolve(root, file);
}

/** The address a persona's guest is reached at: its first NIC's static IP (L2 pins host keys under it). */
export function guestAddress(p: LoadedPersona): string {
  const nic = p.persona.vm.nics[0];
  const ip = nic?.ip;
  if (!ip || ip === 'dhcp') {
    throw new LabError({
      code: 'LAB_SSH_NO_ADDRESS',
      summary: `persona ${p.name} has no static address on its first NIC, so lab cannot reach its guest`,
      hint: `give vm.nics[0] an ip like 10.0.10.30/24 in ${p.file}`,
    });
  }
  return ip.replace(/\/\d+$/, '');
}

const pools = new WeakMap<LayerContext, SshPool>();

/**
 * An SSH connection to a persona's guest: through the Proxmox node's jump host (the embedded
 * simulator's, or lab.yaml `ssh.jumpHost`), as `ssh.user` with `ssh.identityFile`, host keys
 * checked against the lab's known_hosts (L2 pinned the guest's before its first boot). One pool
 * per command run; closed when the command ends.
 */
export async function guestConnection(ctx: LayerContext, p: LoadedPersona): Promise<SshConnection> {
  return guestConnectionAt(ctx, guestAddress(p));
}

/** The same connection to any guest address (a bake VM at its scratch address). */
export async function guestConnectionAt(ctx: LayerContext, host: string): Promise<SshConnection> {
  const site = ctx.lab.site.site;
  let pool = pools.get(ctx);
  if (!pool) {
    const created = new SshPool();
    pools.set(ctx, created);
    ctx.onClose(() => created.closeAll());
    pool = created;
  }
  const knownHostsFile = resolve(ctx.lab.root, site.ssh.knownHosts);
  const keyFile = expandHome(ctx.lab.root, site.ssh.identityFile);
  let privateKey: Secret<string>;
  try {
    privateKey = new Secret(readFileSync(keyFile, 'utf8'));
  } catch (cause) {
    throw new LabError({ code: 'LAB_SSH_NO_KEY', summary: `cannot read the lab's SSH key ${keyFile}`, hint: `create it: ssh-keygen -t ed25519 -f ${keyFile}`, cause });
  }
  // Embedded: the simulator's jump host only — no Proxmox token, no API call (adr/0186).
  const embeddedJump = site.proxmox.mode === 'embedded' ? await embeddedJumpHost(ctx) : undefined;
  let jump: SshTarget['jump'];
  if (embeddedJump) {
    // The embedded simulator's host key comes from its own state, not from the network.
    if (embeddedJump.hostPublicKey) await pinHostKey(knownHostsFile, embeddedJump.host, embeddedJump.port, embeddedJump.hostPublicKey, { movesBetweenPorts: true });
    jump = { host: embeddedJump.host, port: embeddedJump.port, username: embeddedJump.username, privateKey };
  } else if (site.ssh.jumpHost) {
    jump = { host: site.ssh.jumpHost.host, port: site.ssh.jumpHost.port, username: site.ssh.jumpHost.user, privateKey };
  }
  const timeouts = { silenceMs: site.ssh.silenceTimeout * 1000, commandMs: site.ssh.commandTimeout * 1000 };
  const target: SshTarget = { host, username: site.ssh.user, privateKey, knownHostsFile, timeouts, ...(jump ? { jump } : {}) };
  return pool.get(target);
}
