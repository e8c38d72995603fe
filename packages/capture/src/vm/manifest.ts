import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { IMAGES_DIR, MANIFEST_FORMAT, imageTag, manifestFile, templateName, type ImageManifest } from '@lab/pve';

/**
 * The image manifest of a captured template, in L1's format 1 (adr/0082) so that L1's loader
 * and resolver read it like any built version, plus a `capture` block with its provenance
 * (adr/0103). The format, the tag and the template name are @lab/pve's (adr/0141), shared with L1;
 * a test reads these files with L1's own loader to keep the two in step.
 */

export { IMAGES_DIR, MANIFEST_FORMAT, imageTag, templateName };

/** Where the captured template came from. */
export interface CaptureProvenance {
  readonly persona: string;
  readonly vmid: number;
  readonly node: string;
  /** Short commit of the lab repository; `dirty` when it had uncommitted changes. */
  readonly commit: string;
  readonly dirty: boolean;
  readonly capturedAt: string;
  readonly labVersion: string;
  /** Config digest of the persona's VM when it was cloned. */
  readonly sourceDigest: string;
}

/** L1's manifest (format 1) plus where the captured template came from. */
export interface CapturedManifest extends ImageManifest {
  readonly source: ImageManifest['source'] & { readonly checksum: { readonly algorithm: 'sha256'; readonly value: string } };
  readonly capture: CaptureProvenance;
}

export function manifestPath(image: string, version: string): string {
  return manifestFile(image, version);
}

export interface ManifestInput {
  readonly image: string;
  readonly version: string;
  readonly os: string;
  readonly cloudInitUser: string;
  readonly template: { readonly node: string; readonly vmid: number; readonly storage: string; readonly format: string; readonly createdAt: string };
  readonly serialConsole: boolean;
  readonly guestAgent: boolean;
  readonly provenance: CaptureProvenance;
}

/** The manifest of a captured template. Pure. */
export function capturedManifest(input: ManifestInput): CapturedManifest {
  const p = input.provenance;
  const record = JSON.stringify([p.persona, p.vmid, p.node, p.commit, p.dirty, p.capturedAt, p.labVersion, p.sourceDigest, input.image, input.version]);
  return {
    formatVersion: MANIFEST_FORMAT,
    image: input.image,
    version: input.version,
    os: input.os,
    source: { url: `lab-capture://${p.persona}/${p.vmid}@${p.node}`, checksum: { algorithm: 'sha256', value: createHash('sha256').update(record).digest('hex') }, format: input.template.format },
    tag: imageTag(input.image, input.version),
    serialConsole: input.serialConsole,
    guestAgent: input.guestAgent,
    cloudInit: { user: input.cloudInitUser, packages: [] },
    templates: [{ node: input.template.node, vmid: input.template.vmid, name: templateName(input.image, input.version), storage: input.template.storage, importVolume: '', createdAt: input.template.createdAt }],
    labVersion: p.labVersion,
    capture: p,
  };
}

/** Write it as L1 writes manifests: pretty JSON, one trailing newline, atomically. */
export async function writeCapturedManifest(root: string, manifest: CapturedManifest): Promise<string> {
  const rel = manifestPath(manifest.image, manifest.version);
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, file);
  return rel;
}

/** Read a manifest back (undefined when there is none): the re-verify of a template capture. */
export async function readCapturedManifest(root: string, image: string, version: string): Promise<CapturedManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(root, manifestPath(image, version)), 'utf8')) as CapturedManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
