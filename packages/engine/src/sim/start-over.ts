import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LabError } from '@lab/core';
import { loadSite } from '@lab/intent';

/**
 * Starts an embedded lab over: removes its simulator's guests (containers, disk and snapshot
 * images, attached data disks) and then its state. Deleting the state alone is not enough: a new
 * simulator on the same state dir adopts the guests it finds (adr/0030), with their old host keys.
 */
export async function startEmbeddedLabOver(root: string): Promise<{ readonly containers: number }> {
  const site = (await loadSite(root)).site;
  if (site.proxmox.mode !== 'embedded') {
    throw new LabError({ code: 'LAB_SIM_NOT_EMBEDDED', summary: 'only an embedded lab can be started over', hint: 'this lab.yaml names a real Proxmox VE; use `lab down --all` there' });
  }
  const stateDir = resolve(root, site.proxmox.stateDir);
  const sim = await import('@lab/pve-sim');
  let containers = 0;
  if ((await sim.dockerEngineVersion()) !== undefined) {
    containers = (await sim.removeInstanceGuests(sim.guestInstanceName(stateDir), { stateDir })).containers.length;
  }
  await rm(stateDir, { recursive: true, force: true });
  return { containers };
}
