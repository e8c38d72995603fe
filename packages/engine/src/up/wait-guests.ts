import { isLabError, runStep, type Reporter } from '@lab/core';
import type { LoadedPersona } from '@lab/intent';
import { CLOUD_INIT_WAIT_SCRIPT } from '@lab/ssh';
import type { LayerContext } from '../layers/adapter.js';
import { guestConnection } from '../layers/guest-ssh.js';

/** What a guest that is still booting answers: no sshd yet, no user yet (cloud-init), no sudo rule yet. */
const BOOTING = new Set(['LAB_SSH_UNREACHABLE', 'LAB_SSH_AUTH', 'LAB_SSH_DISCONNECTED', 'LAB_SSH_TIMEOUT', 'LAB_SSH_CLOSED', 'LAB_SSH_SUDO']);

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** How long cloud-init may still run its first-boot modules (a package upgrade holds apt's lock). */
  readonly cloudInitTimeoutMs?: number;
}


/**
 * L2 returns once the guest agent answers; sshd and the cloud-init user may come a few seconds
 * later, and cloud-init's first boot may still be upgrading packages (holding apt's lock) for a
 * while after that. Before the guest layers plan a guest created or started in the same run,
 * wait until `sudo true` runs over SSH through the same pooled connection the layers will use,
 * then until cloud-init is done. Anything but a booting guest's answer (a changed host key, a
 * wrong address) fails at once.
 */
export async function waitForGuests(ctx: LayerContext, personas: readonly LoadedPersona[], reporter: Reporter, options: WaitOptions = {}): Promise<void> {
  if (personas.length === 0) return;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const intervalMs = options.intervalMs ?? 1_000;
  const cloudInitMs = options.cloudInitTimeoutMs ?? 900_000;
  await runStep(reporter, `wait for SSH and cloud-init on ${personas.map((p) => p.name).join(', ')}`, (progress) =>
    Promise.all(
      personas.map(async (p) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          try {
            const c = await guestConnection(ctx, p);
            const r = await c.script('true', { sudo: true, timeoutMs: 20_000 });
            if (r.code === 0) {
              progress(`${p.name}: SSH answers; waiting for cloud-init`);
              await c.script(CLOUD_INIT_WAIT_SCRIPT, {
                sudo: true,
                timeoutMs: cloudInitMs,
                label: 'waiting for cloud-init',
                onStdout: (chunk) => {
                  const line = chunk.trim().split('\n').at(-1);
                  if (line) progress(`${p.name}: ${line}`);
                },
              });
              progress(`${p.name}: ready`);
              return;
            }
            if (Date.now() > deadline) throw new Error(`sudo on ${p.name} still fails (exit ${r.code}): ${r.stderr.trim()}`);
          } catch (error) {
            if (!isLabError(error) || !BOOTING.has(error.code) || Date.now() > deadline) throw error;
            progress(`${p.name}: no SSH yet (${error.code}); trying again`);
          }
          await new Promise((r) => setTimeout(r, intervalMs));
        }
      }),
    ).then(() => undefined),
  );
}
