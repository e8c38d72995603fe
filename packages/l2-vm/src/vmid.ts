import { LabError } from '@lab/core';
import { nextFreeVmid, type PveClient } from '@lab/pve';

/**
 * VMIDs for the creates of one apply. `cluster/nextid` knows only existing VMs, so two creates
 * running side by side would both be offered the same id: ids are handed out one at a time and
 * remembered until the run ends, and ids other personas declare are skipped.
 */
export interface VmidAllocator {
  next(avoid: readonly number[]): Promise<number>;
}

export function createVmidAllocator(client: PveClient): VmidAllocator {
  const handedOut = new Set<number>();
  let chain: Promise<unknown> = Promise.resolve();
  const allocate = async (avoid: readonly number[]): Promise<number> => {
    const reserved = new Set([...avoid, ...handedOut]);
    let candidate = (await nextFreeVmid(client)) ?? Number.NaN;
    for (let tries = 0; tries < 1000; tries++, candidate++) {
      if (reserved.has(candidate)) continue;
      try {
        const id = (await nextFreeVmid(client, candidate)) ?? Number.NaN;
        handedOut.add(id);
        return id;
      } catch {
        // taken: PVE answers 400 "VM N already exists"; try the next one
      }
    }
    throw new LabError({ code: 'LAB_L2_NO_VMID', summary: 'found no free VMID within 1000 of cluster/nextid', hint: 'declare vm.vmid for this persona' });
  };
  return {
    next(avoid) {
      const run = chain.then(() => allocate(avoid));
      chain = run.catch(() => undefined);
      return run;
    },
  };
}
