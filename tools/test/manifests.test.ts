import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Each package's manifest lists exactly what its shipped code imports (adr/0143): every bare
 * import in src/ (and bin/) is a dependency, and every dependency is imported there. What only
 * tests import belongs in devDependencies. The CLI's bundle leaves some packages external
 * (`external` in build.mjs): they are runtime dependencies too. `exports` names files that exist.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const packagesDir = join(root, 'packages');

const STATIC = /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(?:ts|mts|mjs|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Bare imports of the shipped code. */
function importsOf(dir: string): Set<string> {
  const out = new Set<string>();
  for (const file of [...files(join(dir, 'src')), ...files(join(dir, 'bin'))]) {
    const text = readFileSync(file, 'utf8');
    for (const m of [...text.matchAll(STATIC), ...text.matchAll(DYNAMIC)]) {
      const name = packageOf(m[1] ?? m[2] ?? '');
      if (name) out.add(name);
    }
  }
  return out;
}

/** What a bundle build leaves external: needed at run time though no source imports it by name. */
function bundleExternals(dir: string): Set<string> {
  const build = join(dir, 'build.mjs');
  if (!existsSync(build)) return new Set();
  const external = /external:\s*\[([^\]]*)\]/.exec(readFileSync(build, 'utf8'))?.[1] ?? '';
  return new Set([...external.matchAll(/'([\w@/.-]+)'/g)].map((m) => m[1]!));
}

const dirs = readdirSync(packagesDir).filter((d) => statSync(join(packagesDir, d, 'package.json'), { throwIfNoEntry: false }));

describe('package manifests list exactly what each package imports', () => {
  for (const dir of dirs) {
    it(dir, () => {
      const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
      const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      const used = importsOf(join(packagesDir, dir));
      const builtins = new Set(['fs', 'path', 'os', 'url', 'crypto', 'child_process', 'util', 'events', 'stream', 'net', 'http', 'https', 'tls', 'zlib', 'readline', 'assert', 'buffer', 'dns', 'timers', 'worker_threads', 'process']);
      const external = bundleExternals(join(packagesDir, dir));
      expect({ undeclared: [...used].filter((n) => !declared.has(n) && !builtins.has(n)).sort(), unused: [...declared].filter((n) => !used.has(n) && !external.has(n)).sort() }).toEqual({ undeclared: [], unused: [] });
      const targets = JSON.stringify(pkg.exports ?? {}).match(/"\.\/src\/[^"]+"/g) ?? [];
      for (const t of targets) expect(existsSync(join(packagesDir, dir, JSON.parse(t))), `${dir} exports ${t}`).toBe(true);
    });
  }
});
