import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { LoadedPersona } from '@lab/intent';
import { resolveImage, type ImageOverrides } from './image-overrides.js';
import { normalizeRef } from './images.js';
import type { ImageDelivery } from './types.js';
import type { ImageSource } from './workstation-docker.js';

/** One service that would run a stand-in image (adr/0151). */
export interface StandInUse {
  readonly stack: string;
  readonly service: string;
  readonly image: string;
  readonly standInFor: string;
}

/**
 * The services of a persona that run stand-ins when deployed from this workstation: with push
 * delivery, the images (after overrides) whose `dev.lab.stand-in` label the workstation's
 * engine reports. For listings (`lab personas`); plans say the same through their diagnostics.
 */
export async function standInsOf(p: LoadedPersona, root: string, o: { readonly overrides: ImageOverrides; readonly delivery: ImageDelivery; readonly source: ImageSource }): Promise<StandInUse[]> {
  const w = p.persona.workloads;
  if ((w.imageDelivery ?? o.delivery) !== 'push') return [];
  const uses: { stack: string; service: string; image: string }[] = [];
  for (const s of w.stacks) {
    if (s.state === 'down') continue;
    let doc: unknown;
    try {
      doc = typeof s.compose === 'string' ? parse(await readFile(resolve(root, s.compose), 'utf8')) : s.compose;
    } catch {
      continue;
    }
    const services = ((doc as { services?: Record<string, { image?: unknown }> } | null)?.services ?? {}) as Record<string, { image?: unknown }>;
    for (const [service, svc] of Object.entries(services)) {
      if (typeof svc?.image !== 'string') continue;
      uses.push({ stack: s.name, service, image: normalizeRef(resolveImage(svc.image, o.overrides)?.image ?? svc.image) });
    }
  }
  const facts = await o.source.inspect([...new Set(uses.map((u) => u.image))]);
  return uses.flatMap((u) => {
    const f = facts[u.image];
    return f?.standInFor ? [{ ...u, standInFor: f.standInFor }] : [];
  });
}
