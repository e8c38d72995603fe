import type { Lab } from '@lab/intent';

/** Whether L3 and L4 can reach guests in this lab at all, and if not, why and what to do. */
export interface GuestReach {
  readonly ok: boolean;
  readonly reason?: string;
  readonly hint?: string;
}

/**
 * A remote lab has guests by definition (a failure to reach one is an error of its own). The
 * embedded simulator has them only with `guests: docker` and a Docker engine that answers; the
 * simulator itself falls back to records-only VMs without one, so the guest layers would fail
 * on every persona. Asked once per command, before anything is planned.
 */
export async function guestReach(lab: Lab): Promise<GuestReach> {
  const px = lab.site.site.proxmox;
  if (px.mode !== 'embedded') return { ok: true };
  if (px.guests === 'none') {
    return {
      ok: false,
      reason: 'lab.yaml sets proxmox.guests: none, so the simulator keeps VM records only, with no guest to reach over SSH',
      hint: 'set proxmox.guests: docker in lab.yaml and start a Docker engine (sudo bash tools/docker/ensure-dockerd.sh) for L3 and L4',
    };
  }
  const { dockerEngineVersion } = await import('@lab/pve-sim');
  if ((await dockerEngineVersion()) !== undefined) return { ok: true };
  return {
    ok: false,
    reason: 'no Docker engine answers, so the simulator\'s VMs are records only, with no guest to reach over SSH',
    hint: 'start one (sudo bash tools/docker/ensure-dockerd.sh), then run the command again',
  };
}
