import { readFileSync } from 'node:fs';

const SECTION = '## Use as a library';

/** The first ```js block of a package README's "Use as a library" section. */
export function libraryExample(readmeFile: string): string {
  const text = readFileSync(readmeFile, 'utf8');
  const at = text.indexOf(SECTION);
  if (at < 0) throw new Error(`${readmeFile} has no "${SECTION}" section`);
  const rest = text.slice(at + SECTION.length);
  const end = rest.search(/^## /m);
  const m = /^```js\n([\s\S]*?)^```$/m.exec(end < 0 ? rest : rest.slice(0, end));
  if (!m) throw new Error(`${readmeFile}: "${SECTION}" has no \`\`\`js example`);
  return m[1]!;
}

/** Named imports per module of an example: `import { a, b as c } from 'm'` → m → [a, b]. */
export function namedImports(code: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of code.matchAll(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';$/gm)) {
    const names = m[1]!
      .split(',')
      .map((s) => s.trim().split(/\s+as\s+/)[0]!.trim())
      .filter(Boolean);
    out.set(m[2]!, [...(out.get(m[2]!) ?? []), ...names]);
  }
  return out;
}
