import { LabError } from '@lab/core';
import { CLOUD_INIT_WAIT_SCRIPT, forgetHost, loadKnownHosts, lookupHost, pinHostKey, type SshConnection } from '@lab/ssh';

/**
 * Making a booted clone fit to be a template (adr/0104): whatever identifies this one machine
 * goes, so each VM cloned from the template gets its own at first boot.
 * - cloud-init forgets its instance, logs and any seed on disk: users, keys and network run again;
 * - /etc/machine-id is emptied: systemd generates a fresh one at first boot (DHCP client ids,
 *   journald and dbus derive from it);
 * - the SSH host keys are removed: cloud-init (or L2's vendor data) puts new ones in place.
 */
export const CLEAN_SCRIPT = [
  'set -eu',
  'if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs; else rm -rf /var/lib/cloud/instance /var/lib/cloud/instances /var/lib/cloud/data; fi',
  // A seed on disk (the persona's user and vendor data, host key included) would reach every
  // clone; the files go, the directories stay for the next seed (Proxmox brings its own on a drive).
  'if [ -d /var/lib/cloud/seed ]; then find /var/lib/cloud/seed -mindepth 2 -type f -delete; fi',
  'truncate -s 0 /etc/machine-id',
  'if [ -e /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then rm -f /var/lib/dbus/machine-id; fi',
  'rm -f /etc/ssh/ssh_host_*',
  'rm -f /root/.bash_history /home/*/.bash_history',
  'sync',
].join('\n');

/** Reads back what the clean left, one `key=value` per line. */
export const VERIFY_SCRIPT = [
  'printf "machine_id_bytes=%s\\n" "$(stat -c %s /etc/machine-id 2>/dev/null || echo missing)"',
  'printf "host_keys=%s\\n" "$(ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l)"',
  'printf "cloud_instance=%s\\n" "$(if [ -e /var/lib/cloud/instance ]; then echo present; else echo absent; fi)"',
  'printf "seed_files=%s\\n" "$(find /var/lib/cloud/seed -type f 2>/dev/null | wc -l)"',
].join('\n');

/** What the clone looked like after the clean. */
export interface CleanReport {
  readonly machineIdBytes: number;
  readonly hostKeys: number;
  readonly cloudInstance: 'present' | 'absent';
  readonly seedFiles: number;
  /** The clone's machine-id before the clean (to show it differed from nothing else). */
  readonly machineIdBefore: string;
}

export function parseVerify(stdout: string): Omit<CleanReport, 'machineIdBefore'> {
  const kv = new Map(stdout.split('\n').map((l) => l.split('=', 2) as [string, string]).filter((p) => p.length === 2));
  return {
    machineIdBytes: Number(kv.get('machine_id_bytes') ?? NaN),
    hostKeys: Number(kv.get('host_keys') ?? NaN),
    cloudInstance: kv.get('cloud_instance') === 'absent' ? 'absent' : 'present',
    seedFiles: Number(kv.get('seed_files') ?? NaN),
  };
}

export function isClean(r: Omit<CleanReport, 'machineIdBefore'>): boolean {
  return r.machineIdBytes === 0 && r.hostKeys === 0 && r.cloudInstance === 'absent' && r.seedFiles === 0;
}

export interface CleanOptions {
  /** How long the clone may take to boot and answer on SSH. Default 5 min. */
  readonly bootTimeoutMs?: number;
  readonly retryMs?: number;
  readonly onProgress?: (message: string) => void;
}

async function connectWhenUp(connect: () => Promise<SshConnection>, options: CleanOptions): Promise<SshConnection> {
  const deadline = Date.now() + (options.bootTimeoutMs ?? 300_000);
  let last: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      last = err;
      // A changed host key is not a boot delay: stop at once.
      if (err instanceof LabError && /HOST_?KEY/.test(err.code)) throw err;
      if (Date.now() > deadline) break;
      if (attempt === 1) options.onProgress?.('waiting for the clone to answer on SSH');
      await new Promise((r) => setTimeout(r, options.retryMs ?? 2_000));
    }
  }
  throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_UNREACHABLE', summary: 'the clone did not answer on SSH in time', detail: last instanceof Error ? last.message : String(last), hint: 'check that the --address is free and routed on the persona\'s network, and the clone\'s console (qm terminal <vmid>)', cause: last });
}

/**
 * Clean a booted clone over SSH: wait for it (and for its first-boot cloud-init, which would
 * otherwise write into what is being cleaned), run `CLEAN_SCRIPT`, read the result back and
 * refuse a clone that is not clean.
 */
export async function cleanCloneOverSsh(connect: () => Promise<SshConnection>, options: CleanOptions = {}): Promise<CleanReport> {
  const conn = await connectWhenUp(connect, options);
  options.onProgress?.('waiting for cloud-init on the clone');
  await conn.script(CLOUD_INIT_WAIT_SCRIPT, {
    sudo: true,
    fresh: true,
    label: 'waiting for cloud-init on the clone',
    timeoutMs: options.bootTimeoutMs ?? 300_000,
    onStdout: (chunk) => {
      const line = chunk.trim().split('\n').at(-1);
      if (line) options.onProgress?.(line);
    },
  });
  const before = (await conn.exec('cat /etc/machine-id 2>/dev/null; true', { sudo: true })).stdout.trim();
  options.onProgress?.('cleaning: cloud-init state, machine-id, SSH host keys');
  const cleaned = await conn.script(CLEAN_SCRIPT, { sudo: true, fresh: true });
  if (cleaned.code !== 0) {
    throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_CLEAN', summary: `cleaning the clone failed (exit ${String(cleaned.code)})`, detail: cleaned.stderr.trim(), hint: 'the clone is removed; fix the guest (it needs sudo for the lab user) and capture again' });
  }
  const verify = await conn.script(VERIFY_SCRIPT, { sudo: true, fresh: true });
  const report = parseVerify(verify.stdout);
  if (!isClean(report)) {
    throw new LabError({ code: 'LAB_CAPTURE_TEMPLATE_CLEAN', summary: `the clone is not clean after cleaning: ${JSON.stringify(report)}`, hint: 'something in the guest recreates them at once; inspect the persona, then capture again' });
  }
  return { ...report, machineIdBefore: before };
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
