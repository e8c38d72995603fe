import type { LabFacts, PersonaFacts } from './lab-files.js';
import type { ProjectGraph } from './nx.js';

/** Why one persona needs checking. */
export type Reason =
  | { readonly kind: 'persona'; readonly files: readonly string[] }
  | { readonly kind: 'site'; readonly file: string }
  | { readonly kind: 'mixin'; readonly file: string }
  | { readonly kind: 'project'; readonly project: string; readonly via: readonly string[]; readonly files: readonly string[] }
  | { readonly kind: 'secret'; readonly name: string; readonly file: string }
  | { readonly kind: 'image'; readonly image: string; readonly files: readonly string[] }
  | { readonly kind: 'workspace'; readonly files: readonly string[] }
  | { readonly kind: 'nx' };

export interface AffectedPersona {
  readonly name: string;
  readonly reasons: readonly Reason[];
}

export interface Selection {
  readonly affected: readonly AffectedPersona[];
  /** Nx counted them (the mixins project changed) but they include none of the changed mixins. */
  readonly narrowed: readonly { readonly name: string; readonly mixins: readonly string[] }[];
  readonly unaffected: readonly string[];
}

export interface SelectInput {
  readonly graph: ProjectGraph;
  /** Personas `nx affected -t check` selected. */
  readonly nxPersonas: readonly string[];
  readonly facts: LabFacts;
  readonly files: readonly string[];
}

const SITE_FILE = 'lab.yaml';
const MIXINS_DIR = 'personas/_mixins/';
const MIXINS_PROJECT = 'persona-mixins';
const IMAGES_DIR = 'artifacts/images/';

/** The project owning a file: the one with the longest root that contains it. */
export function ownerOf(file: string, roots: ReadonlyMap<string, string>): string | undefined {
  let best: string | undefined;
  let bestLen = -1;
  for (const [name, root] of roots) {
    if (root === '' || root === '.') continue;
    if (file.startsWith(`${root}/`) && root.length > bestLen) {
      best = name;
      bestLen = root.length;
    }
  }
  return best;
}

/** Touched projects a persona reaches through its dependencies, each with the shortest path. */
function touchedDeps(p: string, graph: ProjectGraph, touched: ReadonlyMap<string, readonly string[]>): Reason[] {
  const out: Reason[] = [];
  const seen = new Set([p]);
  let frontier: string[][] = [[p]];
  while (frontier.length > 0) {
    const next: string[][] = [];
    for (const path of frontier) {
      for (const d of graph.deps.get(path[path.length - 1]!) ?? []) {
        // Mixin changes are judged file by file below; personas never build on each other.
        if (seen.has(d) || d === MIXINS_PROJECT || graph.tags.get(d)?.includes('type:persona')) continue;
        seen.add(d);
        const via = [...path.slice(1), d];
        const files = touched.get(d);
        if (files) out.push({ kind: 'project', project: d, via, files });
        next.push([...path, d]);
      }
    }
    frontier = next;
  }
  return out;
}

function mixinReasons(p: PersonaFacts, files: readonly string[]): Reason[] {
  const mine = new Set(p.mixins);
  // A mixin is a YAML file; anything else in the directory (project.json) concerns every includer.
  return files
    .filter((f) => f.startsWith(MIXINS_DIR) && (mine.has(f) || (p.mixins.length > 0 && !/\.ya?ml$/.test(f))))
    .map((file) => ({ kind: 'mixin' as const, file }));
}

/**
 * Decide which personas a change touches, and why. Nx's project graph gives the code paths
 * (persona → CLI → layer → shared package); what it cannot see is added from the lab's files:
 * which mixins each persona really includes (Nx has one project for all of them), the secrets
 * it references, and the image manifests of the image it runs. Pure: fixtures in, selection out.
 */
export function selectPersonas(input: SelectInput): Selection {
  const { graph, facts, files } = input;
  const touched = new Map<string, string[]>();
  const unowned: string[] = [];
  for (const f of files) {
    const owner = ownerOf(f, graph.roots);
    if (owner) touched.set(owner, [...(touched.get(owner) ?? []), f]);
    else unowned.push(f);
  }
  const secretsPrefix = `${facts.secretsDir}/`;
  const changedSecrets = files.filter((f) => f.startsWith(secretsPrefix) && f.endsWith('.age')).map((f) => ({ file: f, name: f.slice(secretsPrefix.length, -'.age'.length) }));
  const workspaceFiles = unowned.filter((f) => f !== SITE_FILE && !f.startsWith(secretsPrefix) && !f.startsWith(IMAGES_DIR));
  const changedMixins = files.filter((f) => f.startsWith(MIXINS_DIR));
  const nx = new Set(input.nxPersonas);

  const affected: AffectedPersona[] = [];
  const narrowed: { name: string; mixins: string[] }[] = [];
  const unaffected: string[] = [];
  for (const p of facts.personas) {
    const reasons: Reason[] = [];
    const own = touched.get(p.name) ?? files.filter((f) => f.startsWith(`${p.root}/`));
    if (own.length > 0) reasons.push({ kind: 'persona', files: own });
    if (files.includes(SITE_FILE)) reasons.push({ kind: 'site', file: SITE_FILE });
    reasons.push(...mixinReasons(p, files));
    reasons.push(...touchedDeps(p.name, graph, touched));
    for (const s of changedSecrets) {
      if (p.secrets.includes(s.name) || facts.siteSecrets.includes(s.name)) reasons.push({ kind: 'secret', name: s.name, file: s.file });
    }
    const imageFiles = p.image ? files.filter((f) => f.startsWith(`${IMAGES_DIR}${p.image}/`)) : [];
    if (imageFiles.length > 0) reasons.push({ kind: 'image', image: p.image!, files: imageFiles });
    if (reasons.length === 0 && nx.has(p.name)) {
      if (workspaceFiles.length > 0) reasons.push({ kind: 'workspace', files: workspaceFiles });
      else if (changedMixins.length > 0 && touched.has(MIXINS_PROJECT)) {
        narrowed.push({ name: p.name, mixins: changedMixins });
        continue;
      } else reasons.push({ kind: 'nx' });
    }
    if (reasons.length > 0) affected.push({ name: p.name, reasons });
    else unaffected.push(p.name);
  }
  return { affected, narrowed, unaffected };
}

const some = (files: readonly string[], n = 2): string => (files.length <= n ? files.join(', ') : `${files.slice(0, n).join(', ')} and ${files.length - n} more`);

/** One line per reason, for people reading a CI log. */
export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'persona':
      return `its files changed: ${some(r.files)}`;
    case 'site':
      return `${r.file} (the site) changed`;
    case 'mixin':
      return `includes ${r.file}, which changed`;
    case 'project':
      return `uses ${r.via.join(' → ')}: ${some(r.files)} changed`;
    case 'secret':
      return `references secret ${r.name}, which changed`;
    case 'image':
      return `runs image ${r.image}, whose manifests changed: ${some(r.files)}`;
    case 'workspace':
      return `workspace-wide files changed: ${some(r.files)}`;
    case 'nx':
      return 'Nx counts it affected';
  }
}
