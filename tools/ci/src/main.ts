/**
 * tools/ci/affected: run `lab check` through Nx for exactly the personas a change touches, and
 * say why each one is in. Usage and exit codes: `tools/ci/affected --help`; wiring into a CI
 * job: docs/ci.md; design: adr/0125-affected-only-ci.md.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { ExitCode, isLabError, toLabError } from '@lab/core';
import { changedFiles, defaultBase } from './git.js';
import { readLabFacts } from './lab-files.js';
import { nxAffected, runChecks } from './nx.js';
import { describeReason, selectPersonas, type Selection } from './reasons.js';
import { exitCodeOf, readResults, type CheckResult } from './results.js';

const USAGE = `Usage: tools/ci/affected [--base <ref>] [--head <ref>] [--list] [--json] [--parallel <n>] [-- <lab check flags>]

Finds the personas a change touches (Nx's project graph, plus the mixins each persona really
includes, the secrets it references and its image manifests), prints why each one is in, then
runs \`nx run-many -t check\` on them. Flags after -- go to \`lab check\` (e.g. -- --layer=l0,l1,l2).

  --base <ref>     compare with this commit (default: origin/main when present, else HEAD~1)
  --head <ref>     up to this commit (default: the work tree, uncommitted and untracked included)
  --list           only list the affected personas and why; run nothing
  --json           results on stdout as JSON
  --parallel <n>   checks at once (default 3; 1 with the embedded simulator, which one state dir serves)

Exit: 0 nothing affected or every check clean, 1 a check failed, 2 a check found changes.`;

const MAX_PROJECTS = 3;

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

function proxmoxMode(workspace: string): string | undefined {
  try {
    const site = parse(readFileSync(join(workspace, 'lab.yaml'), 'utf8')) as { proxmox?: { mode?: unknown } } | undefined;
    return typeof site?.proxmox?.mode === 'string' ? site.proxmox.mode : undefined;
  } catch {
    return undefined;
  }
}

function renderSelection(sel: Selection, header: string): string {
  const lines = [header];
  for (const p of sel.affected) {
    lines.push(`  ${p.name}`);
    // A change to a shared package reaches a persona through many projects; the first few say enough.
    const projects = p.reasons.filter((r) => r.kind === 'project');
    const shown = [...p.reasons.filter((r) => r.kind !== 'project'), ...projects.slice(0, MAX_PROJECTS)];
    for (const r of shown) lines.push(`    - ${describeReason(r)}`);
    if (projects.length > MAX_PROJECTS) lines.push(`    - and ${projects.length - MAX_PROJECTS} more changed projects it uses (--json lists them)`);
  }
  for (const n of sel.narrowed) lines.push(`  (${n.name} left out: Nx counts it through the mixins project, but it includes none of ${n.mixins.join(', ')})`);
  if (sel.unaffected.length > 0) lines.push(`  not affected: ${sel.unaffected.join(', ')}`);
  return lines.join('\n');
}

function renderResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.persona.length));
  const word = { ok: 'clean', changes: 'changes', error: 'FAILED' } as const;
  return results.map((r) => `${r.persona.padEnd(width)}  ${word[r.verdict].padEnd(7)}  ${r.summary}`).join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const labArgs = dash < 0 ? [] : argv.slice(dash + 1);
  const { values } = parseArgs({
    args: [...own],
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      list: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      parallel: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.Ok;
  }
  const base = values.base ?? defaultBase(WORKSPACE);
  const changes = changedFiles(WORKSPACE, base, values.head);
  const nx = nxAffected(WORKSPACE, base, values.head);
  const selection = selectPersonas({ graph: nx.graph, nxPersonas: nx.personas, facts: readLabFacts(WORKSPACE), files: changes.files });
  const names = selection.affected.map((p) => p.name);
  const header = `${names.length} of ${names.length + selection.unaffected.length + selection.narrowed.length} personas affected (base ${base}, merge base ${changes.mergeBase.slice(0, 12)}, ${changes.files.length} changed file${changes.files.length === 1 ? '' : 's'})`;
  const report = {
    base,
    head: changes.head ?? null,
    mergeBase: changes.mergeBase,
    files: changes.files,
    affected: selection.affected.map((p) => ({ name: p.name, reasons: p.reasons.map((r) => ({ ...r, text: describeReason(r) })) })),
    narrowed: selection.narrowed,
    unaffected: selection.unaffected,
  };

  if (values.list || names.length === 0) {
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${renderSelection(selection, header)}\n`);
    return ExitCode.Ok;
  }

  process.stderr.write(`${renderSelection(selection, header)}\n\n`);
  const outDir = join(WORKSPACE, '.lab', 'ci');
  mkdirSync(outDir, { recursive: true });
  for (const n of names) rmSync(join(outDir, `${n}.plan.json`), { force: true });
  const embedded = proxmoxMode(WORKSPACE) !== 'remote';
  runChecks(WORKSPACE, names, { outDir, parallel: Number(values.parallel ?? (embedded ? 1 : 3)), labArgs });
  const results = readResults(outDir, names);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, results }, null, 2)}\n`);
  else process.stdout.write(`${renderResults(results)}\n`);
  return exitCodeOf(results);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = isLabError(error) ? error : toLabError(error);
    process.stderr.write(`${e.format()}\n`);
    process.exitCode = ExitCode.Error;
  },
);
