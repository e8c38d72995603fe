// Bundle the CLI into dist/ with esbuild: one file per lazily-loaded command (code splitting),
// so `lab validate` starts in a fraction of the time tsx needs to transpile the sources.
// bin/lab.mjs uses dist/ only while it is newer than every source it was built from.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// Inputs are named relative to the workspace, whatever directory the build runs from (`pnpm build`
// runs it in packages/cli): bin/lab.mjs checks each of them (the CLI's, the engine's, the layers')
// against the bundle's age.
const workspace = fileURLToPath(new URL('../../', import.meta.url));
const started = performance.now();
// Built beside dist/ and moved in file by file, main.js last: a lab command running from the old
// bundle (bin/lab.mjs rebuilds a stale one on its own) still finds every chunk it loads lazily.
const next = `${here}dist.next-${process.pid}`;
rmSync(next, { recursive: true, force: true });
const result = await build({
  absWorkingDir: workspace,
  entryPoints: [`${here}src/main.ts`],
  outdir: next,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  conditions: ['@lab/source'],
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import{createRequire as __labRequire}from'node:module';const require=__labRequire(import.meta.url);" },
  // Native and optional modules stay external and load from node_modules at run time.
  external: ['ssh2', 'cpu-features', '*.node', 'tsx', 'esbuild'],
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).filter((f) => f.includes('packages/') && !f.includes('node_modules'));
writeFileSync(`${next}/inputs.json`, JSON.stringify(inputs.map((f) => f.replace(/^.*?packages\//, 'packages/'))));
const dist = `${here}dist`;
mkdirSync(dist, { recursive: true });
const built = readdirSync(next);
const last = ['main.js', 'main.js.map', 'inputs.json'];
for (const f of [...built.filter((f) => !last.includes(f)), ...last.filter((f) => built.includes(f))]) {
  copyFileSync(`${next}/${f}`, `${dist}/.${f}.tmp`);
  renameSync(`${dist}/.${f}.tmp`, `${dist}/${f}`);
}
rmSync(next, { recursive: true, force: true });
// Chunk names are content hashes: older ones pile up. Those of another build and a day old go.
const keep = new Set(built);
for (const f of readdirSync(dist)) {
  if (!keep.has(f) && Date.now() - statSync(`${dist}/${f}`).mtimeMs > 86_400_000) rmSync(`${dist}/${f}`, { force: true });
}
process.stderr.write(`built packages/cli/dist in ${Math.round(performance.now() - started)} ms (${inputs.length} workspace sources)\n`);
