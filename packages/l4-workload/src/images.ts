import type { Diagnostic, FieldDiff } from '@lab/core';
import type { DesiredWorkloads, RenderedStack, WorkloadObservation, WorkstationImage } from './types.js';

/**
 * Image delivery by push (adr/0150), the pure half: which images a stack runs, which of them
 * the guest lacks (or holds in another version), and what the plan says about them.
 */

/** `caddy` → `caddy:latest`, `docker.io/library/caddy:2` → `caddy:2`: the form `docker images` prints. */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/^(?:docker\.io|index\.docker\.io)\/(?:library\/)?/, '');
  if (r.includes('@')) return r;
  const slash = r.lastIndexOf('/');
  if (!r.slice(slash + 1).includes(':')) r = `${r}:latest`;
  return r;
}

/** The distinct images a stack's running services use, sorted. */
export function imagesOfStack(s: RenderedStack): string[] {
  if (s.state === 'down') return [];
  return [...new Set(Object.values(s.images).map(normalizeRef))].sort();
}

/** One image to push to one guest. */
export interface ImagePush {
  readonly ref: string;
  readonly id: string;
  readonly sizeBytes: number;
  /** The guest's image ID for that name, when it holds another version. */
  readonly guestId?: string;
  readonly standInFor?: string;
}

export type WorkstationImages = Readonly<Record<string, WorkstationImage>>;

/** Images of `stack` the guest lacks or holds in another version than the workstation's. */
export function pushesFor(s: RenderedStack, obs: WorkloadObservation, source: WorkstationImages): ImagePush[] {
  const out: ImagePush[] = [];
  for (const ref of imagesOfStack(s)) {
    const w = source[ref];
    if (!w) continue;
    const guestId = obs.images?.[ref];
    if (guestId === w.id) continue;
    out.push({ ref, id: w.id, sizeBytes: w.sizeBytes, ...(guestId ? { guestId } : {}), ...(w.standInFor ? { standInFor: w.standInFor } : {}) });
  }
  return out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The plan's line for one push: `~ image lab-local/x:debian: 1a2b… → 3c4d…  (push 12 MiB …)`. */
export function pushDiff(p: ImagePush): FieldDiff {
  const standIn = p.standInFor ? `; STAND-IN for ${p.standInFor}: answers health checks only` : '';
  return {
    path: `image ${p.ref}`,
    ...(p.guestId ? { before: shortId(p.guestId) } : {}),
    after: shortId(p.id),
    note: `push ${formatBytes(p.sizeBytes)} from this workstation over SSH${p.guestId ? '' : ', not in the guest'}${standIn}`,
  };
}

/**
 * Plan-time diagnostics of push delivery, per persona: an image the workstation does not hold
 * (error: the push cannot happen), a stand-in on a `stable` persona without
 * `workloads.allowStandIns` (error), and one note per stand-in so plans never pass it off as
 * the real program.
 */
export function pushDiagnostics(d: DesiredWorkloads, source: WorkstationImages): Diagnostic[] {
  if (d.imageDelivery !== 'push') return [];
  const out: Diagnostic[] = [];
  for (const s of d.stacks) {
    for (const [service, image] of Object.entries(s.images).sort(([a], [b]) => a.localeCompare(b))) {
      if (s.state === 'down') continue;
      const ref = normalizeRef(image);
      const w = source[ref];
      const where = `${d.persona}: stack ${s.name}, service ${service}`;
      if (!w) {
        out.push({
          severity: 'error',
          code: 'LAB_L4_IMAGE_NOT_ON_WORKSTATION',
          summary: `${where} runs ${image}, which this workstation's Docker engine does not hold, so it cannot be pushed`,
          path: `workloads.stacks.${s.name}`,
          hint: 'build it on this workstation (sudo bash tools/test-images/build.sh), or set workloads.imageDelivery: registry for this persona',
        });
        continue;
      }
      if (!w.standInFor) continue;
      if (d.stage === 'stable' && !d.allowStandIns) {
        out.push({
          severity: 'error',
          code: 'LAB_L4_STAND_IN_REFUSED',
          summary: `${where} would run ${image}, a stand-in for ${w.standInFor} that answers health checks only, on a stable persona`,
          path: `workloads.stacks.${s.name}`,
          hint: 'map the image to the real program in lab.yaml workloads.imageOverrides, or accept stand-ins with lab.yaml workloads.allowStandIns: true (demo and test labs only)',
        });
      } else {
        out.push({
          severity: 'info',
          code: 'LAB_L4_STAND_IN',
          summary: `${where} runs ${image}: a STAND-IN for ${w.standInFor} (answers its health checks only; not the real program)`,
        });
      }
    }
  }
  return out;
}
