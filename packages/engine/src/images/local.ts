import type { Lab } from '@lab/intent';
import { dockerImageSource, ensureLocalImages, localImagesOverrides, standInsOf, type StandInUse } from '@lab/l4-workload';

/**
 * Local images and stand-ins for the CLI (adr/0150, adr/0151). `ensureLocalImages` builds the
 * images of tools/test-images on this workstation (cached by recipe hash) for `pnpm demo` and the
 * real-guest tests; `labStandIns` says, per persona, which services would run a stand-in.
 */
export { ensureLocalImages, localImagesOverrides };
export type { EnsureLocalImagesOptions, LocalImage, LocalImagesResult, StandInUse } from '@lab/l4-workload';

/** Per persona (lab order): the services that run stand-in images when pushed from this workstation. */
export async function labStandIns(lab: Lab): Promise<StandInUse[][]> {
  const w = lab.site.site.workloads;
  const source = dockerImageSource();
  // Stand-ins only matter with push delivery; a workstation without Docker lists none.
  return Promise.all(lab.personas.map((p) => standInsOf(p, lab.root, { overrides: w.imageOverrides, delivery: w.imageDelivery, source }).catch(() => [])));
}
