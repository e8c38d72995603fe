import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The module boundaries of house style, enforced on every run: the app (CLI) may import
 * anything; the engine imports layers and shared packages; layers never import each other, the
 * engine or the app; shared packages import shared packages only. Read from the Nx tags in each
 * package.json and from every import specifier in src/ (adr/0051-module-boundaries.md,
 * adr/0140-engine-boundary.md).
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const packagesDir = join(root, 'packages');

interface Pkg {
  readonly dir: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly deps: readonly string[];
}

const pkgs: Pkg[] = readdirSync(packagesDir)
  .filter((d) => statSync(join(packagesDir, d, 'package.json'), { throwIfNoEntry: false }))
  .map((d) => {
    const j = JSON.parse(readFileSync(join(packagesDir, d, 'package.json'), 'utf8'));
    return { dir: d, name: j.name, tags: j.nx?.tags ?? [], deps: Object.keys(j.dependencies ?? {}) };
  });
const byName = new Map(pkgs.map((p) => [p.name, p]));
const kind = (p: Pkg) => (p.tags.find((t) => t.startsWith('type:')) ?? 'type:none').slice(5);

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](@lab\/[a-z0-9-]+)/g)].map((m) => m[1]!);
}

describe('module boundaries', () => {
  it('every package declares one type tag', () => {
    for (const p of pkgs) expect(['shared', 'layer', 'engine', 'app'], `${p.name} tags ${p.tags.join(',')}`).toContain(kind(p));
  });

  it('the orchestration library exists as kind engine, and the app builds on it', () => {
    expect(pkgs.filter((p) => kind(p) === 'engine').map((p) => p.name)).toEqual(['@lab/engine']);
    expect(byName.get('@lab/cli')?.deps).toContain('@lab/engine');
  });

  for (const p of pkgs) {
    it(`${p.name} (${kind(p)}) imports only what its kind may`, () => {
      const allowed = (target: Pkg): boolean => {
        if (target.name === p.name) return true;
        if (kind(p) === 'app') return true;
        // The engine orchestrates the layers on top of the shared packages.
        if (kind(p) === 'engine') return kind(target) === 'layer' || kind(target) === 'shared';
        // Layers and shared packages build on shared packages only (never the engine or the app).
        return kind(target) === 'shared';
      };
      const offending: string[] = [];
      for (const dep of p.deps.filter((d) => d.startsWith('@lab/'))) {
        const t = byName.get(dep);
        if (t && !allowed(t)) offending.push(`package.json depends on ${dep} (${kind(t)})`);
      }
      for (const file of sources(join(packagesDir, p.dir, 'src'))) {
        for (const spec of importsOf(file)) {
          const t = byName.get(spec);
          if (t && !allowed(t)) offending.push(`${file.slice(root.length)} imports ${spec} (${kind(t)})`);
        }
      }
      expect(offending).toEqual([]);
    });
  }
});
