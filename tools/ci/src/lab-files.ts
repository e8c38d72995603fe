import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** What the affected computation needs to know about one persona, read from its YAML. */
export interface PersonaFacts {
  readonly name: string;
  /** `personas/<name>`, the Nx project root. */
  readonly root: string;
  /** Every mixin it includes, directly or through other mixins, as `personas/_mixins/x.yaml`. */
  readonly mixins: readonly string[];
  /** Secret names it references (its own YAML and its mixins). */
  readonly secrets: readonly string[];
  /** The image name of `vm.image` (`debian-12` of `debian-12@stable`), when it declares a VM. */
  readonly image: string | undefined;
}

export interface LabFacts {
  readonly personas: readonly PersonaFacts[];
  /** Secret names lab.yaml references: every persona depends on them. */
  readonly siteSecrets: readonly string[];
  /** Where secret files live (lab.yaml `secrets.dir`), relative to the workspace. */
  readonly secretsDir: string;
}

function readYaml(file: string): unknown {
  try {
    return parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    // An unreadable file is `lab validate`'s to report; here it only references nothing.
    return undefined;
  }
}

/** `{ secret: name }` anywhere in a document. */
export function secretRefs(doc: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(doc)) {
    for (const v of doc) secretRefs(v, into);
  } else if (doc && typeof doc === 'object') {
    const entries = Object.entries(doc);
    const [first] = entries;
    if (entries.length === 1 && first && first[0] === 'secret' && typeof first[1] === 'string') into.add(first[1]);
    else for (const [, v] of entries) secretRefs(v, into);
  }
  return into;
}

function includesOf(doc: unknown): string[] {
  const inc = doc && typeof doc === 'object' ? (doc as { include?: unknown }).include : undefined;
  return Array.isArray(inc) ? inc.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Read the lab as a CI job sees it: each persona's include closure (mixins including mixins),
 * the secrets it references and its image. Include paths are relative to `personas/`, as
 * @lab/intent resolves them.
 */
export function readLabFacts(workspace: string): LabFacts {
  const dir = join(workspace, 'personas');
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(join(dir, d.name, 'persona.yaml')))
        .map((d) => d.name)
        .sort()
    : [];
  const mixinDocs = new Map<string, unknown>();
  const mixinDoc = (rel: string): unknown => {
    if (!mixinDocs.has(rel)) mixinDocs.set(rel, readYaml(join(dir, rel)));
    return mixinDocs.get(rel);
  };
  const personas = names.map((name): PersonaFacts => {
    const doc = readYaml(join(dir, name, 'persona.yaml'));
    const secrets = secretRefs(doc);
    const seen = new Set<string>();
    const queue = includesOf(doc);
    while (queue.length > 0) {
      const rel = queue.shift()!;
      if (seen.has(rel)) continue;
      seen.add(rel);
      const m = mixinDoc(rel);
      secretRefs(m, secrets);
      queue.push(...includesOf(m));
    }
    const image = (doc as { vm?: { image?: unknown } } | undefined)?.vm?.image;
    return {
      name,
      root: `personas/${name}`,
      mixins: [...seen].map((rel) => `personas/${rel}`).sort(),
      secrets: [...secrets].sort(),
      image: typeof image === 'string' ? image.split('@')[0] : undefined,
    };
  });
  const site = readYaml(join(workspace, 'lab.yaml'));
  const secretsDir = (site as { secrets?: { dir?: unknown } } | undefined)?.secrets?.dir;
  return {
    personas,
    siteSecrets: [...secretRefs(site)].sort(),
    secretsDir: typeof secretsDir === 'string' ? secretsDir.replace(/^\.\/|\/$/g, '') : 'secrets',
  };
}
