import { LabError } from '@lab/core';
import { cleanForTemplate, forgetHost, loadKnownHosts, lookupHost, pinHostKey, waitForGuest, type CleanReport, type SshConnection } from '@lab/ssh';

/**
 * Cleaning the booted clone of `lab capture template` (adr/0104). The clean itself (cloud-init,
 * machine-id, SSH host keys, logs, apt lists) is @lab/ssh's `cleanForTemplate`, shared with
 * L1's bake (adr/0146); this module adds only what is capture's own: the clone presents the
 * persona's host key.
 */
export { CLEAN_SCRIPT, VERIFY_SCRIPT, parseVerify, isClean } from '@lab/ssh';
export type { CleanReport } from '@lab/ssh';

export interface CleanOptions {
  /** How long the clone may take to boot and answer on SSH. Default 5 min. */
  readonly bootTimeoutMs?: number;
  readonly retryMs?: number;
  readonly onProgress?: (message: string) => void;
}

/** Wait for the booted clone (and its first-boot cloud-init), then clean it and prove it clean. */
export async function cleanCloneOverSsh(connect: () => Promise<SshConnection>, options: CleanOptions = {}): Promise<CleanReport> {
  const conn = await waitForGuest(connect, { ...options, label: 'the clone', unreachableHint: "check that the --address is free and routed on the persona's network, and the clone's console (qm terminal <vmid>)" });
  return cleanForTemplate(conn, { label: 'the clone', ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
}

export interface PersonaKeyCleanOptions extends CleanOptions {
  /** The lab's known_hosts file. */
  readonly knownHostsFile: string;
  /** The persona's address, under which L2 pinned its host key. */
  readonly personaAddress: string;
  /** The clone's scratch address. */
  readonly cloneAddress: string;
}

/**
 * The clone boots from the persona's disk and with its cloud-init vendor data, so it presents
 * the persona's host key: pin that key for the scratch address while the clean runs (learned
 * from lab's own pin, never from the network), then forget the address again.
 */
export async function cleanCloneWithPersonaKey(connect: () => Promise<SshConnection>, options: PersonaKeyCleanOptions): Promise<CleanReport> {
  const pinned = lookupHost(await loadKnownHosts(options.knownHostsFile), options.personaAddress).pinned;
  if (pinned.length === 0) {
    throw new LabError({ code: 'LAB_SSH_HOSTKEY_UNKNOWN', summary: `no host key is pinned for ${options.personaAddress}; the clone presents the persona's`, hint: 'pin it first: lab apply --layer l2 --persona <name>' });
  }
  await forgetHost(options.knownHostsFile, options.cloneAddress);
  try {
    for (const e of pinned) await pinHostKey(options.knownHostsFile, options.cloneAddress, 22, e.key);
    return await cleanCloneOverSsh(connect, options);
  } finally {
    await forgetHost(options.knownHostsFile, options.cloneAddress);
  }
}
