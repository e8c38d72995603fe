import { createHash } from 'node:crypto';
import type { Diagnostic } from '@lab/core';
import { compose } from './_compose.js';
import type { LabFiles } from './_files-io.js';
import { parseWithSchema } from './_issues.js';
import { resolveLayers } from './_layers.js';
import { build } from './schema/_build.js';
import { obj } from './schema/_leaf.js';
import { osSchema } from './schema/persona-os.js';
import { locate, toData, type TEntry, type TMap, type TNode } from './_tree.js';
import type { BakedImage, Os, RawSite, Site, SiteImage } from './types.js';

/**
 * Bake profiles (adr/0145), resolved once lab.yaml is valid: the profile's mixins are composed
 * like a persona's, the composed `os:` is validated in full, and its content hash (the spec
 * with every `source:` file's text) names the baked version `<base version>-<hash8>`. The
 * result fills the image's `versions` and `stable`, so L2, `lab image list`, promotion and
 * prune treat a baked image like any other.
 */

/** `bake:debian-12@20250210-2019`: the source a baked version records instead of a download URL. */
export const BAKE_SOURCE_PREFIX = 'bake:';

const OS_ONLY = new Set(['include', 'os']);

function err(tree: TNode, path: (string | number)[], summary: string, hint?: string): Diagnostic {
  const at = locate(tree, path);
  return { severity: 'error', code: 'LAB_INTENT_INVALID', summary, source: at.source, path: at.path, ...(hint ? { hint } : {}) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Canonical JSON: keys sorted, so the hash does not depend on the order fields were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The profile hash: the resolved OS spec plus the text of every file it reads. Pure. */
export function profileHash(os: Os, sources: Readonly<Record<string, string>>): string {
  return sha256(canonical({ os, sources }));
}

/** `20250210-2019` + hash → `20250210-2019-1a2b3c4d`. */
export function bakedVersion(baseVersion: string, hash: string): string {
  return `${baseVersion}-${hash.slice(0, 8)}`;
}

function hostMax(cidr: string): string | undefined {
  const [net, bits] = cidr.split('/');
  if (!net || bits === undefined) return undefined;
  const prefix = Number(bits);
  if (prefix > 29) return undefined;
  const n = net.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const broadcast = ((n & mask) | (~mask >>> 0)) >>> 0;
  return [24, 16, 8, 0].map((s) => (broadcast >>> s) & 255).join('.');
}

function minus(ip: string, k: number): string {
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0) - k;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Where a bake VM boots: the profile's network, else the first VLAN (or bridge) with a network, near its top. */
function bakeNetwork(site: RawSite, im: RawSite['images'][number], nth: number): BakedImage['network'] | string {
  const first = firstAddress(site, im, nth);
  if (typeof first === 'string') return first;
  const nodes = im.nodes ?? site.nodes.map((n) => n.name);
  const [ip, bits] = first.address.split('/');
  const addresses = Object.fromEntries(nodes.map((n, i) => [n, `${minus(ip!, i)}/${bits}`]));
  return { ...first, addresses };
}

function firstAddress(site: RawSite, im: RawSite['images'][number], nth: number): Omit<BakedImage['network'], 'addresses'> | string {
  const want = im.bake?.network;
  const candidates = site.bridges.flatMap((b) => [
    ...b.vlans.filter((v) => v.cidr).map((v) => ({ bridge: b.name, vlan: v.id as number | undefined, cidr: v.cidr!, gateway: v.gateway })),
    ...(b.cidr ? [{ bridge: b.name, vlan: undefined as number | undefined, cidr: b.cidr, gateway: b.gateway }] : []),
  ]);
  const net = want ? candidates.find((c) => c.bridge === want.bridge && c.vlan === want.vlan) : candidates.find((c) => c.vlan !== undefined) ?? candidates[0];
  if (want && !site.bridges.some((b) => b.name === want.bridge)) return `no bridge "${want.bridge}" in lab.yaml`;
  if (want?.address) {
    const gateway = want.gateway ?? net?.gateway;
    return { bridge: want.bridge, ...(want.vlan !== undefined ? { vlan: want.vlan } : {}), address: want.address, ...(gateway ? { gateway } : {}) };
  }
  if (!net) return 'no bridge or VLAN of lab.yaml declares a network (cidr) to pick a scratch address from';
  const top = hostMax(net.cidr);
  if (!top) return `network ${net.cidr} is too small for a scratch address`;
  // Each baked image takes one address per node, counting down from the top of the network.
  const address = `${minus(top, 2 + nth * site.nodes.length)}/${net.cidr.split('/')[1]}`;
  const gateway = want?.gateway ?? net.gateway;
  return { bridge: net.bridge, ...(net.vlan !== undefined ? { vlan: net.vlan } : {}), address, ...(gateway ? { gateway } : {}) };
}

function osSchemaFinal() {
  return obj({ os: osSchema(build('final')).prefault({}) });
}

/**
 * Resolve every bake profile of a valid lab.yaml. Problems point at lab.yaml or the mixin that
 * holds them (file:line:col). Returns the site with baked images filled in.
 */
export function resolveBakes(files: LabFiles, siteFile: string, tree: TMap, raw: RawSite): { site: Site; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const byName = new Map(raw.images.map((im) => [im.name, im]));
  let nth = 0;
  const images: SiteImage[] = raw.images.map((im, i) => {
    if (im.from === undefined || im.bake === undefined) return { ...im, stable: im.stable ?? '', storage: im.storage ?? '' };
    const at = im.from.lastIndexOf('@');
    const base = byName.get(at < 0 ? im.from : im.from.slice(0, at))!;
    const wanted = at < 0 ? 'stable' : im.from.slice(at + 1);
    const baseVersion = wanted === 'stable' ? base.stable! : wanted;
    const bakeNode = locate(tree, ['images', i, 'bake']);
    const bakeTree = (() => {
      const entry = (tree.entries.get('images')?.value as { items?: TNode[] } | undefined)?.items?.[i];
      const b = entry?.kind === 'map' ? entry.entries.get('bake')?.value : undefined;
      return b?.kind === 'map' ? b : undefined;
    })();
    const fallback = { ...im, stable: '', storage: im.storage ?? base.storage ?? '' };
    if (!bakeTree) {
      errors.push({ severity: 'error', code: 'LAB_INTENT_INVALID', summary: 'bake: must be a map', source: bakeNode.source, path: bakeNode.path });
      return fallback;
    }
    const entries = new Map<string, TEntry>([...bakeTree.entries].filter(([k]) => OS_ONLY.has(k)));
    const { layers, diagnostics, complete } = resolveLayers(files, siteFile, { ...bakeTree, entries });
    errors.push(...diagnostics);
    if (!complete) return fallback;
    const composed = compose(layers);
    errors.push(...composed.errors);
    const osEntry = composed.tree.entries.get('os');
    const osTree: TMap = { ...composed.tree, entries: new Map(osEntry ? [['os', osEntry]] : []) };
    const parsed = parseWithSchema(osSchemaFinal(), osTree, toData(osTree));
    if (parsed.data === undefined) {
      errors.push(...parsed.diagnostics);
      return fallback;
    }
    const os = parsed.data.os as unknown as Os;
    const sources: Record<string, string> = {};
    const read = (file: string, path: (string | number)[]): void => {
      const text = files.text(file);
      if (text === undefined) errors.push(err(osTree, path, `source file ${file} does not exist`, 'paths are relative to the YAML file that declares them'));
      else sources[file] = text;
    };
    os.files.forEach((f, j) => f.source !== undefined && read(f.source, ['os', 'files', j, 'source']));
    os.apt.repositories.forEach((r, j) => r.signedBy.file !== undefined && read(r.signedBy.file, ['os', 'apt', 'repositories', j, 'signedBy', 'file']));
    const network = bakeNetwork(raw, im, nth++);
    if (typeof network === 'string') {
      errors.push(err(tree, ['images', i, 'bake', ...(im.bake.network ? ['network'] : [])], network, 'give the profile a network: { bridge: vmbr0, vlan: 10, address: 10.0.10.250/24 }'));
      return fallback;
    }
    const hash = profileHash(os, sources);
    const version = bakedVersion(baseVersion, hash);
    const baked: BakedImage = { base: { image: base.name, version: baseVersion }, hash, os, files: layers.map((l) => l.file).filter((f) => f !== siteFile), network };
    return {
      ...im,
      os: im.os,
      storage: im.storage ?? base.storage ?? '',
      stable: version,
      versions: [{ version, url: `${BAKE_SOURCE_PREFIX}${base.name}@${baseVersion}`, checksum: { algorithm: 'sha256' as const, value: hash } }],
      baked,
    };
  });
  return { site: { ...raw, images }, errors };
}
