import { pvePrivileges, type PveVersion } from '@lab/pve';

/**
 * Why a role differs from what lab needs, in words that name the release: on Proxmox VE 9 an
 * 8.x-era role lacks the `VM.GuestAgent.*` privilege that replaced `VM.Monitor`, and a privilege
 * the found release does not have is called out as such rather than as merely "not needed".
 */
export function roleDiffSummary(roleid: string, have: readonly string[], want: readonly string[], version: PveVersion | undefined): string {
  const missing = want.filter((p) => !have.includes(p));
  const extra = have.filter((p) => !want.includes(p));
  const known = version ? pvePrivileges(version) : undefined;
  const release = version ? `Proxmox VE ${version.release}` : 'this Proxmox VE';
  const parts: string[] = [];
  if (missing.length > 0) {
    let why = '';
    if (version && version.major >= 9 && missing.some((p) => p.startsWith('VM.GuestAgent.'))) {
      why = ` (Proxmox VE 9 replaced VM.Monitor with VM.GuestAgent.*: the role was made for 8.x)`;
    } else if (version && version.major < 9 && missing.includes('VM.Monitor')) {
      why = ` (${release} guards the guest agent with VM.Monitor: the role was made for 9.x)`;
    }
    parts.push(`lacks ${missing.join(', ')}${why}`);
  }
  const gone = known ? extra.filter((p) => !known.has(p)) : [];
  const unneeded = extra.filter((p) => !gone.includes(p));
  const holds: string[] = [];
  if (gone.length > 0) holds.push(`${gone.join(', ')}, which ${release} no longer has`);
  if (unneeded.length > 0) holds.push(`${unneeded.join(', ')}, which lab does not need`);
  if (holds.length > 0) parts.push(`holds ${holds.join(', and ')}`);
  return `role ${roleid} ${parts.join(' and ')}`;
}
