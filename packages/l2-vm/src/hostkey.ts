import { forgetHost, generateKeyPair, pinHostKey } from '@lab/ssh';

/**
 * Places a cloud-init snippet on a node's dir storage and returns its volid. PVE has no API for
 * snippets (pve-api.md §7.23): on real PVE `sshSnippetWriter` writes `<storage path>/snippets/<name>`
 * over SSH on the node; the simulator takes it through its control endpoint (adr/0087).
 */
export interface SnippetWriter {
  place(node: string, storage: string, name: string, content: string): Promise<string>;
  /** Delete the snippet (destroy); absent where snippets cannot be deleted (the simulator keeps them). */
  remove?(node: string, storage: string, name: string): Promise<void>;
}

export interface HostKey {
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… root@<persona>` */
  readonly publicKey: string;
}

/** A new ed25519 host key (through @lab/ssh, which discards the pairs ssh2 emits unparsable). */
export function generateHostKey(comment: string): HostKey {
  const pair = generateKeyPair(comment);
  return { privateKey: pair.privateKey.reveal(), publicKey: pair.publicKey };
}

/**
 * Vendor data giving the guest exactly this host key: cloud-init's `ssh_keys` writes it before
 * sshd starts, and `ssh_genkeytypes: []` stops it from adding keys lab did not pin.
 */
export function hostKeyVendorData(key: HostKey): string {
  return [
    '#cloud-config',
    'ssh_deletekeys: true',
    'ssh_genkeytypes: []',
    'ssh_keys:',
    '  ed25519_private: |',
    ...key.privateKey.trim().split('\n').map((l) => `    ${l}`),
    `  ed25519_public: ${key.publicKey}`,
    '',
  ].join('\n');
}

/** Names a VM is known by in known_hosts: the persona name and its declared address. */
export function knownNames(persona: string, address: string | undefined): string[] {
  return address ? [persona, address] : [persona];
}

/** known_hosts is rewritten whole: VMs applied side by side (adr/0160) take turns per file, so no pin is lost. */
const turns = new Map<string, Promise<unknown>>();
function inTurn<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const run = (turns.get(file) ?? Promise.resolve()).then(fn);
  const tail = run.catch(() => undefined);
  turns.set(file, tail);
  void tail.then(() => {
    if (turns.get(file) === tail) turns.delete(file);
  });
  return run;
}

/** Replace the pinned key of every name (a re-created VM has a new key). */
export function pinVmKey(file: string, names: readonly string[], publicKey: string, port = 22): Promise<void> {
  return inTurn(file, async () => {
    for (const n of names) {
      await forgetHost(file, n, port);
      await pinHostKey(file, n, port, publicKey);
    }
  });
}

export function forgetVm(file: string, names: readonly string[], port = 22): Promise<void> {
  return inTurn(file, async () => {
    for (const n of names) await forgetHost(file, n, port);
  });
}
