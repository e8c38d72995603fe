import { installLoopbackGuard, type Reporter } from '@lab/core';
import type { Lab, LoadedPersona } from '@lab/intent';
import { openSecretStore, type SecretStore } from '@lab/secrets';
import { LAB_VERSION } from '../version.js';
import type { LayerContext, LayerFlags, ProxmoxEndpoint } from './adapter.js';
import { resolveProxmox } from './proxmox.js';

export interface LayerSession extends LayerContext {
  /** Run every registered cleanup, last registered first. */
  close(): Promise<void>;
}

export interface SessionOptions {
  /** How a secret is shown once to the operator (see `LayerContext.reveal`). */
  readonly reveal?: (text: string) => void;
}

export function createLayerContext(lab: Lab, personas: readonly LoadedPersona[], reporter: Reporter, flags: LayerFlags, options: SessionOptions = {}): LayerSession {
  const cleanups: (() => Promise<void> | void)[] = [];
  if (lab.site.site.proxmox.mode === 'embedded') {
    installLoopbackGuard('this lab is embedded: the simulator and its guests live on this machine, nothing of it needs the network');
  }
  let store: SecretStore | undefined;
  let endpoint: Promise<ProxmoxEndpoint> | undefined;
  const ctx: LayerSession = {
    lab,
    personas,
    reporter,
    labVersion: LAB_VERSION,
    flags,
    ...(options.reveal ? { reveal: options.reveal } : {}),
    secrets: () =>
      (store ??= openSecretStore({ root: lab.root, dir: lab.site.site.secrets.dir, recipients: lab.site.site.secrets.recipients })),
    proxmox: () => (endpoint ??= resolveProxmox(ctx)),
    onClose: (fn) => void cleanups.push(fn),
    async close() {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (error) {
          reporter.emit({ type: 'log', level: 'warn', message: `cleanup failed: ${(error as Error).message}` });
        }
      }
    },
  };
  return ctx;
}
