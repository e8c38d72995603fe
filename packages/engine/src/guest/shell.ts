import { resolve } from 'node:path';
import { loadLab, type LoadedPersona } from '@lab/intent';
import type { ExecResult } from '@lab/ssh';
import type { EngineEnv } from '../env.js';
import { createLayerContext, type LayerSession } from '../layers/context.js';
import { expandHome, guestAddress, guestConnection } from '../layers/guest-ssh.js';
import { selectPersonas } from '../layers/select.js';

/** A persona's guest, opened for commands or for an OpenSSH session; `close()` ends both. */
export interface GuestHandle {
  readonly persona: LoadedPersona;
  /** Runs a shell command in the guest (as root with `sudo`), streaming its output. */
  run(command: string, options?: GuestRunOptions): Promise<ExecResult>;
  /**
   * The OpenSSH command line that reaches the guest the way lab does: through the node's jump
   * host, with the lab's key and its pinned known_hosts (no trust on first use). Valid while
   * this handle is open (an embedded lab's jump host lives in this process).
   */
  openSshArgv(): Promise<string[]>;
  close(): Promise<void>;
}

export interface GuestRunOptions {
  readonly sudo?: boolean;
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
}

/**
 * Opens a persona's guest as L3 and L4 reach it (`lab ssh`, the demo's hand edits, scripts).
 * Nothing here is a layer operation: what is done through it is drift, and `lab drift` says so.
 */
export async function openGuest(env: EngineEnv, personaName: string): Promise<GuestHandle> {
  const lab = await loadLab(env.root());
  const [persona] = selectPersonas(lab, personaName, false, true);
  const session: LayerSession = createLayerContext(lab, [persona!], env.reporter, { allowReboot: false, destroyData: false, targets: [] });
  const site = lab.site.site;
  return {
    persona: persona!,
    async run(command, options = {}) {
      const connection = await guestConnection(session, persona!);
      return connection.exec(command, {
        sudo: options.sudo ?? false,
        ...(options.onStdout ? { onStdout: options.onStdout } : {}),
        ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      });
    },
    async openSshArgv() {
      // Connecting once pins the jump host's key (embedded) and proves the guest answers.
      await guestConnection(session, persona!);
      const endpoint = await session.proxmox();
      const knownHosts = resolve(lab.root, site.ssh.knownHosts);
      const key = expandHome(lab.root, site.ssh.identityFile);
      const pin = ['-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-i', key];
      const jump = endpoint.jumpHost
        ? { host: endpoint.jumpHost.host, port: endpoint.jumpHost.port, user: endpoint.jumpHost.username }
        : site.ssh.jumpHost
          ? { host: site.ssh.jumpHost.host, port: site.ssh.jumpHost.port, user: site.ssh.jumpHost.user }
          : undefined;
      const proxy = jump ? ['-o', `ProxyCommand=ssh ${pin.join(' ')} -p ${jump.port} -W %h:%p ${jump.user}@${jump.host}`] : [];
      return ['ssh', ...pin, ...proxy, `${site.ssh.user}@${guestAddress(persona!)}`];
    },
    close: () => session.close(),
  };
}
