import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { LabError } from '@lab/core';

/** inotify instances one booted Debian guest holds (systemd, its user manager, udev, journald…): measured ~8. */
export const INOTIFY_PER_GUEST = 8;
const LIMIT_FILE = '/proc/sys/fs/inotify/max_user_instances';

export interface InotifyRoom {
  /** The limit before (and after, when raised). */
  readonly limit: number;
  readonly raisedFrom?: number;
  /** Instances in use by this user's processes that this process can see. */
  readonly inUse: number;
  readonly needed: number;
}

/** inotify instances held by the processes of `uid` visible in /proc (best effort). */
export function inotifyInstancesInUse(uid = process.getuid?.() ?? 0): number {
  let n = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (!m || Number(m[1]) !== uid) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') n++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // process gone or not ours to read
    }
  }
  return n;
}

/**
 * Each guest container boots systemd, which takes about 8 inotify instances from the host's
 * per-user limit (`fs.inotify.max_user_instances`, 128 by default): past ~15 guests a guest hangs
 * at boot with no clear error. Before starting `guests` more guests, check the room left; as
 * root, raise the limit (the caller says so); otherwise refuse with the command that fixes it.
 */
export function ensureInotifyRoom(guests: number, options: { readonly limitFile?: string; readonly inUse?: number; readonly root?: boolean } = {}): InotifyRoom {
  const file = options.limitFile ?? LIMIT_FILE;
  let limit: number;
  try {
    limit = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return { limit: Number.POSITIVE_INFINITY, inUse: 0, needed: 0 }; // not Linux, or no procfs: nothing to check
  }
  const inUse = options.inUse ?? inotifyInstancesInUse();
  const needed = inUse + guests * INOTIFY_PER_GUEST;
  if (needed <= limit) return { limit, inUse, needed };
  // Room for twice the request, rounded up to a power of two, so the next few guests fit too.
  let target = 1024;
  while (target < needed * 2) target *= 2;
  const fix = `sudo sysctl -w fs.inotify.max_user_instances=${target}  (persist: echo fs.inotify.max_user_instances=${target} | sudo tee /etc/sysctl.d/90-lab-guests.conf)`;
  if (options.root ?? process.getuid?.() === 0) {
    try {
      writeFileSync(file, `${target}\n`);
      return { limit: target, raisedFrom: limit, inUse, needed };
    } catch (cause) {
      throw new LabError({
        code: 'LAB_SIM_INOTIFY_LIMIT',
        summary: `${guests} guest(s) need about ${needed} inotify instances (${INOTIFY_PER_GUEST} each, ${inUse} in use) but fs.inotify.max_user_instances is ${limit}, and raising it failed`,
        detail: 'Each guest boots systemd, which holds inotify instances of the host user; past the limit a guest hangs at boot.',
        hint: `on the host (outside this container, if any): ${fix}`,
        cause,
      });
    }
  }
  throw new LabError({
    code: 'LAB_SIM_INOTIFY_LIMIT',
    summary: `${guests} guest(s) need about ${needed} inotify instances (${INOTIFY_PER_GUEST} each, ${inUse} in use) but fs.inotify.max_user_instances is ${limit}`,
    detail: 'Each guest boots systemd, which holds inotify instances of the host user; past the limit a guest hangs at boot.',
    hint: fix,
  });
}
