import { extractArchiveConfig, pveList, type PveClient } from '@lab/pve';

/** The VM config an archive holds, as `vzdump/extractconfig` returns it. */
export interface ArchiveConfig {
  /** Keys of the main section; `description` joined from the comment lines. */
  readonly config: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
  /** Drives the archive carries data for, by key (`scsi0` → volid). */
  readonly disks: Readonly<Record<string, string>>;
  /** Drives marked `backup=0`: in the config, not in the archive. */
  readonly excluded: Readonly<Record<string, string>>;
}

const DRIVE_RE = /^(?:ide|sata|scsi|virtio|efidisk|tpmstate)\d+$/;

/** PVE's `decode_text`: `%XX` escapes in description comment lines. */
function decodeText(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function isDriveKey(key: string): boolean {
  return DRIVE_RE.test(key);
}

/** A drive value's volume (first field, `file=` optional) and whether it is a CD-ROM or cloud-init drive. */
export function driveVolume(value: string): { volid: string; media: boolean } {
  const [first = ''] = value.split(',');
  const volid = first.startsWith('file=') ? first.slice(5) : first;
  return { volid, media: /(?:^|,)media=cdrom(?:,|$)/.test(value) || /cloudinit/.test(volid) || volid === 'none' };
}

/**
 * Parse a qemu-server config file: `#` lines are the description (`#qmdump#` lines are vzdump's
 * own bookkeeping), `key: value` lines the main section, which ends at the first `[section]`
 * (pending changes, snapshots).
 */
export function parseConfigFile(text: string): ArchiveConfig {
  const config: Record<string, string> = {};
  const descr: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\[.*\]\s*$/.test(line)) break;
    if (line.startsWith('#qmdump#')) continue;
    if (line.startsWith('#')) {
      descr.push(decodeText(line.slice(1)));
      continue;
    }
    const m = /^([a-z][a-z0-9_-]*):\s?(.*)$/.exec(line);
    if (m) config[m[1]!] = m[2]!;
  }
  if (descr.length > 0) config['description'] = descr.join('\n').replace(/\s+$/, '');
  const disks: Record<string, string> = {};
  const excluded: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!isDriveKey(k)) continue;
    const { volid, media } = driveVolume(v);
    if (media) continue;
    if (/(?:^|,)backup=0(?:,|$)/.test(v)) excluded[k] = volid;
    else disks[k] = volid;
  }
  return { config, tags: pveList(config['tags']), disks, excluded };
}

/** `GET /nodes/{node}/vzdump/extractconfig`: the config inside an archive, without restoring it. */
export async function readArchiveConfig(client: PveClient, node: string, volid: string): Promise<ArchiveConfig> {
  const text = await extractArchiveConfig(client, node, volid);
  return parseConfigFile(text);
}
