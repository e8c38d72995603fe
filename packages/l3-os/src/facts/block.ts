import { shq } from '@lab/ssh';
import type { Fact } from './fact.js';

/** A block device and the filesystem on it, as `blkid -p` (low-level probe, no cache) sees it. */
export interface BlockDeviceInfo {
  readonly present: boolean;
  /** Filesystem type; absent on a blank disk. */
  readonly type?: string;
  readonly label?: string;
  readonly uuid?: string;
}

/** A data disk by its stable path (`/dev/disk/by-id/…`); probing changes nothing. */
export function blockDeviceFact(path: string): Fact<BlockDeviceInfo> {
  const p = shq(path);
  return {
    name: 'block',
    arg: path,
    command: `[ -b ${p} ] || return 3\nblkid -p -o export ${p} 2>/dev/null\nreturn 0`,
    parse(stdout, code) {
      if (code === 3) return { present: false };
      const v = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) v.set(m[1]!, m[2]!);
      }
      return {
        present: true,
        ...(v.get('TYPE') ? { type: v.get('TYPE')! } : {}),
        ...(v.get('LABEL') ? { label: v.get('LABEL')! } : {}),
        ...(v.get('UUID') ? { uuid: v.get('UUID')! } : {}),
      };
    },
    empty: { present: false },
  };
}
