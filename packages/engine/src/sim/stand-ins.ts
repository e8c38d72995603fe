import type { Site } from '@lab/intent';
import type { StandInImage } from '@lab/pve-sim';

/**
 * The embedded simulator reaches no network, so every image version of the catalogue is
 * registered as a stand-in: `download-url` "fetches" it offline and checks the declared
 * checksum against itself. Checksum verification proper is exercised by tests that serve real
 * files on loopback (docs/simulator.md, "stand-in images").
 */
export function standInsFor(site: Site): StandInImage[] {
  return site.images.flatMap((image) =>
    image.versions.map((v) => ({ url: v.url, checksums: { [v.checksum.algorithm]: v.checksum.value.toLowerCase() } })),
  );
}
