import { LabError } from '@lab/core';
import { CLOUD_INIT_WAIT_SCRIPT } from './shell.js';
import type { SshConnection } from './connection.js';

/**
 * Making a booted guest fit to be a template (adr/0104, adr/0146): whatever identifies this one
 * machine goes, so each VM cloned from the template gets its own at first boot. Used by L1's
 * bake and by `lab capture template`, through the engine; one script for both.
 * - cloud-init forgets its instance, logs and any seed on disk: users, keys and network run again;
 * - /etc/machine-id is emptied: systemd generates a fresh one at first boot (DHCP client ids,
 *   journald and dbus derive from it);
 * - the SSH host keys are removed: cloud-init (or L2's vendor data) puts new ones in place;
 * - logs and apt's package lists and cache go: a clone starts with its own history, and L3
 *   refreshes the lists before it installs anything.
 */
export const CLEAN_SCRIPT = [
  'set -eu',
  'if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs; else rm -rf /var/lib/cloud/instance /var/lib/cloud/instances /var/lib/cloud/data; fi',
  // A seed on disk (user and vendor data, host key included) would reach every clone; the files
  // go, the directories stay for the next seed (Proxmox brings its own on a drive).
  'if [ -d /var/lib/cloud/seed ]; then find /var/lib/cloud/seed -mindepth 2 -type f -delete; fi',
  'truncate -s 0 /etc/machine-id',
  'if [ -e /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then rm -f /var/lib/dbus/machine-id; fi',
  'rm -f /etc/ssh/ssh_host_*',
  'rm -f /root/.bash_history /home/*/.bash_history',
  'if command -v apt-get >/dev/null 2>&1; then apt-get clean; fi',
  'rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin',
  'if command -v journalctl >/dev/null 2>&1; then journalctl --rotate >/dev/null 2>&1 || true; journalctl --vacuum-time=1s >/dev/null 2>&1 || true; fi',
  'find /var/log -type f \\( -name "*.gz" -o -name "*.[0-9]" -o -name "*.old" \\) -delete',
  'find /var/log -type f -exec truncate -s 0 {} +',
  'sync',
].join('\n');

/** Reads back what the clean left, one `key=value` per line. */
export const VERIFY_SCRIPT = [
  'printf "machine_id_bytes=%s\\n" "$(stat -c %s /etc/machine-id 2>/dev/null || echo missing)"',
  'printf "host_keys=%s\\n" "$(ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l)"',
  'printf "cloud_instance=%s\\n" "$(if [ -e /var/lib/cloud/instance ]; then echo present; else echo absent; fi)"',
  'printf "seed_files=%s\\n" "$(find /var/lib/cloud/seed -type f 2>/dev/null | wc -l)"',
  'printf "apt_lists=%s\\n" "$(find /var/lib/apt/lists -maxdepth 1 -type f -name "*_*" 2>/dev/null | wc -l)"',
].join('\n');

/** What the guest looked like after the clean. */
export interface CleanReport {
  readonly machineIdBytes: number;
  readonly hostKeys: number;
  readonly cloudInstance: 'present' | 'absent';
  readonly seedFiles: number;
  readonly aptLists: number;
  /** The guest's machine-id before the clean (to show it differed from nothing else). */
  readonly machineIdBefore: string;
}

export function parseVerify(stdout: string): Omit<CleanReport, 'machineIdBefore'> {
  const kv = new Map(stdout.split('\n').map((l) => l.split('=', 2) as [string, string]).filter((p) => p.length === 2));
  return {
    machineIdBytes: Number(kv.get('machine_id_bytes') ?? NaN),
    hostKeys: Number(kv.get('host_keys') ?? NaN),
    cloudInstance: kv.get('cloud_instance') === 'absent' ? 'absent' : 'present',
    seedFiles: Number(kv.get('seed_files') ?? NaN),
    aptLists: Number(kv.get('apt_lists') ?? NaN),
  };
}

export function isClean(r: Omit<CleanReport, 'machineIdBefore'>): boolean {
  return r.machineIdBytes === 0 && r.hostKeys === 0 && r.cloudInstance === 'absent' && r.seedFiles === 0 && r.aptLists === 0;
}

export interface GuestWaitOptions {
  /** How long the guest may take to boot and answer on SSH. Default 5 min. */
  readonly bootTimeoutMs?: number;
  readonly retryMs?: number;
  readonly onProgress?: (message: string) => void;
  /** What the guest is, for messages: `the clone`, `the bake VM`. */
  readonly label?: string;
  /** The fix when it does not answer. */
  readonly unreachableHint?: string;
}

/**
 * Connect to a guest that is booting: retry until it answers (a changed or unknown host key
 * stops at once: that is not a boot delay), then wait for its first-boot cloud-init, which
 * would otherwise race whatever runs next.
 */
export async function waitForGuest(connect: () => Promise<SshConnection>, options: GuestWaitOptions = {}): Promise<SshConnection> {
  const label = options.label ?? 'the guest';
  const deadline = Date.now() + (options.bootTimeoutMs ?? 300_000);
  let last: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      const conn = await connect();
      options.onProgress?.(`waiting for cloud-init on ${label}`);
      // Prints where cloud-init is every 2 s: progress for the operator, life for the silence limit.
      await conn.script(CLOUD_INIT_WAIT_SCRIPT, {
        sudo: true,
        fresh: true,
        label: `waiting for cloud-init on ${label}`,
        onStdout: (chunk) => {
          const line = chunk.trim().split('\n').at(-1);
          if (line) options.onProgress?.(line);
        },
      });
      return conn;
    } catch (err) {
      last = err;
      if (err instanceof LabError && /HOST_?KEY/.test(err.code)) throw err;
      if (Date.now() > deadline) break;
      if (attempt === 1) options.onProgress?.(`waiting for ${label} to answer on SSH`);
      await new Promise((r) => setTimeout(r, options.retryMs ?? 2_000));
    }
  }
  throw new LabError({
    code: 'LAB_TEMPLATE_UNREACHABLE',
    summary: `${label} did not answer on SSH in time`,
    detail: last instanceof Error ? last.message : String(last),
    hint: options.unreachableHint ?? "check that its scratch address is free and routed from the jump host, and the VM's console (qm terminal <vmid>)",
    cause: last,
  });
}

/** Run `CLEAN_SCRIPT` on a guest, read the result back and refuse a guest that is not clean. */
export async function cleanForTemplate(conn: SshConnection, options: Pick<GuestWaitOptions, 'onProgress' | 'label'> = {}): Promise<CleanReport> {
  const label = options.label ?? 'the guest';
  const before = (await conn.exec('cat /etc/machine-id 2>/dev/null; true', { sudo: true })).stdout.trim();
  options.onProgress?.('cleaning: cloud-init state, machine-id, SSH host keys, logs, apt lists');
  const cleaned = await conn.script(CLEAN_SCRIPT, { sudo: true, fresh: true });
  if (cleaned.code !== 0) {
    throw new LabError({ code: 'LAB_TEMPLATE_CLEAN', summary: `cleaning ${label} failed (exit ${String(cleaned.code)})`, detail: cleaned.stderr.trim(), hint: 'the VM is removed; fix the guest (the lab user needs sudo) and run the command again' });
  }
  const verify = await conn.script(VERIFY_SCRIPT, { sudo: true, fresh: true });
  const report = parseVerify(verify.stdout);
  if (!isClean(report)) {
    throw new LabError({ code: 'LAB_TEMPLATE_CLEAN', summary: `${label} is not clean after cleaning: ${JSON.stringify(report)}`, hint: 'something in the guest recreates them at once; inspect what runs at boot, then run the command again' });
  }
  return { ...report, machineIdBefore: before };
}
