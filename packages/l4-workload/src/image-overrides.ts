import { parseFamiliarName } from '@swimlane/docker-reference';
import type { Diagnostic } from '@lab/core';

/**
 * Image overrides (adr/0120): personas name the images their authors mean (`prom/prometheus:v3.4.1`);
 * a site may run them from somewhere else — a registry mirror, an air-gapped copy, or images
 * built locally for the test lane. Keys take three forms, tried in this order:
 *
 * - `repo:tag` or `repo@digest` — that exact image;
 * - `repo` (no tag, no digest) — every tag and digest of that repository;
 * - `prefix/` (ends with `/`) — every repository under the prefix; the value is a prefix too and
 *   the rest of the reference (path, tag, digest) is kept: `docker.io/` → `mirror.home.arpa/hub/`.
 *
 * Names are compared in their canonical form, so `prom/prometheus` and
 * `docker.io/prom/prometheus` are one key, and `nginx` is `docker.io/library/nginx`.
 */
export type ImageOverrides = Readonly<Record<string, string>>;

/** One `image:` the override map rewrote. */
export interface ImageOverrideNote {
  readonly service: string;
  readonly declared: string;
  readonly image: string;
  /** The key of the map that matched. */
  readonly rule: string;
}

interface Canonical {
  /** `docker.io/prom/prometheus` */
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** distribution/reference's rule: the first component is a registry when it looks like a host. */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

function canonical(ref: string): Canonical {
  const r = parseFamiliarName(ref.replace(/^index\.docker\.io\//, 'docker.io/'));
  return { name: `${r.domain}/${r.repository}`, ...(r.tag ? { tag: r.tag } : {}), ...(r.digest ? { digest: r.digest } : {}) };
}

function isPrefix(key: string): boolean {
  return key.endsWith('/');
}

/** `grafana/` → `docker.io/grafana/`, `docker.io/` → `docker.io/`; throws when malformed. */
function canonicalPrefix(prefix: string): string {
  const bare = prefix.replace(/\/+$/, '').replace(/^index\.docker\.io(?=\/|$)/, 'docker.io');
  if (bare === '') throw new Error('an empty prefix would match every image');
  // The grammar check: a prefix is valid when a repository below it is.
  parseFamiliarName(`${bare}/x`);
  const i = bare.indexOf('/');
  const first = i < 0 ? bare : bare.slice(0, i);
  if (!looksLikeHost(first)) return `docker.io/${bare}/`;
  return `${bare}/`;
}

/** A reference's tag, `latest` when it names neither a tag nor a digest (as Docker reads it). */
function effectiveTag(c: Canonical): string | undefined {
  return c.tag ?? (c.digest ? undefined : 'latest');
}

function problem(key: string, summary: string, hint: string): Diagnostic {
  return { severity: 'error', code: 'LAB_L4_IMAGE_OVERRIDES_INVALID', summary: `image override "${key}": ${summary}`, path: `workloads.imageOverrides.${key}`, hint };
}

/** Checks an override map: every key and value a valid reference, prefixes mapped to prefixes. */
export function checkImageOverrides(overrides: ImageOverrides): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(overrides)) {
    let norm: string;
    try {
      if (isPrefix(key)) norm = canonicalPrefix(key);
      else {
        const c = canonical(key);
        norm = `${c.name}${c.tag ? `:${c.tag}` : ''}${c.digest ? `@${c.digest}` : ''}`;
      }
    } catch (error) {
      out.push(problem(key, `not an image reference (${(error as Error).message})`, 'write repo, repo:tag, repo@sha256:… or a prefix ending in "/"'));
      continue;
    }
    const twin = seen.get(norm);
    if (twin !== undefined) out.push(problem(key, `names the same images as "${twin}"`, 'keep one of the two keys'));
    seen.set(norm, key);
    if (isPrefix(key) !== isPrefix(value)) {
      out.push(problem(key, isPrefix(key) ? `a prefix must map to a prefix, got "${value}"` : `maps one image to the prefix "${value}"`, isPrefix(key) ? `end the value with "/": ${value}/` : 'write the full replacement image, e.g. mirror.home.arpa/prom/prometheus:v3.4.1'));
      continue;
    }
    try {
      if (isPrefix(value)) canonicalPrefix(value);
      else canonical(value);
    } catch (error) {
      out.push(problem(key, `its value "${value}" is not an image reference (${(error as Error).message})`, 'write repo:tag, repo@sha256:… or, for a prefix key, a prefix ending in "/"'));
    }
  }
  return out;
}

/**
 * The image to run instead of `image`, or undefined when no key matches (or `image` holds an
 * interpolation such as `${TAG}`, which only Compose resolves). Assumes a checked map.
 */
export function resolveImage(image: string, overrides: ImageOverrides): { readonly image: string; readonly rule: string } | undefined {
  if (image.includes('$')) return undefined;
  let ref: Canonical;
  try {
    ref = canonical(image);
  } catch {
    return undefined;
  }
  let repoRule: [string, string] | undefined;
  let prefixRule: [string, string, string] | undefined;
  for (const [key, value] of Object.entries(overrides)) {
    if (isPrefix(key)) {
      const p = canonicalPrefix(key);
      if (`${ref.name}/`.startsWith(p) && `${ref.name}/` !== p && (prefixRule === undefined || p.length > prefixRule[2].length)) prefixRule = [key, value, p];
      continue;
    }
    const k = canonical(key);
    if (k.name !== ref.name) continue;
    if (k.tag === undefined && k.digest === undefined) {
      repoRule = [key, value];
      continue;
    }
    if (k.digest !== undefined && k.digest !== ref.digest) continue;
    if (k.tag !== undefined && k.tag !== effectiveTag(ref)) continue;
    return { image: value, rule: key };
  }
  if (repoRule) return { image: repoRule[1], rule: repoRule[0] };
  if (prefixRule) {
    const [key, value, p] = prefixRule;
    const rest = ref.name.slice(p.length);
    return { image: `${value}${rest}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`, rule: key };
  }
  return undefined;
}

/**
 * Rewrites `image:` of each service through the map. Pure: returns new service objects and one
 * note per rewritten service, which render turns into plan notes.
 */
export function overrideImages(
  services: Readonly<Record<string, Record<string, unknown>>>,
  overrides: ImageOverrides,
): { readonly services: Record<string, Record<string, unknown>>; readonly notes: readonly ImageOverrideNote[] } {
  const out: Record<string, Record<string, unknown>> = {};
  const notes: ImageOverrideNote[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const declared = svc.image;
    const hit = typeof declared === 'string' ? resolveImage(declared, overrides) : undefined;
    if (hit === undefined || hit.image === declared) {
      out[name] = svc;
      continue;
    }
    out[name] = { ...svc, image: hit.image };
    notes.push({ service: name, declared: declared as string, image: hit.image, rule: hit.rule });
  }
  return { services: out, notes };
}
