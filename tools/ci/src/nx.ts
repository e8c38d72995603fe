import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LabError } from '@lab/core';

/** The part of Nx's project graph the reasons need. */
export interface ProjectGraph {
  readonly roots: ReadonlyMap<string, string>;
  readonly tags: ReadonlyMap<string, readonly string[]>;
  readonly deps: ReadonlyMap<string, readonly string[]>;
}

export interface NxAffected {
  readonly graph: ProjectGraph;
  /** Personas whose `check` task `nx affected -t check` would run. */
  readonly personas: readonly string[];
}

/** Only persona projects have a lab-wide `check`; layer projects' `check` needs `--persona`. */
export const PERSONAS_ONLY = '*,!tag:type:persona';

export const nxEnv = (): NodeJS.ProcessEnv => ({ ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' });

interface GraphJson {
  readonly graph: {
    readonly nodes: Record<string, { readonly data: { readonly root: string; readonly tags?: readonly string[] } }>;
    readonly dependencies: Record<string, readonly { readonly target: string }[]>;
  };
  readonly tasks: { readonly tasks: Record<string, { readonly target: { readonly project: string } }> };
}

export function parseAffectedGraph(text: string): NxAffected {
  const start = text.indexOf('{');
  const json = JSON.parse(start >= 0 ? text.slice(start) : text) as GraphJson;
  const roots = new Map<string, string>();
  const tags = new Map<string, readonly string[]>();
  const deps = new Map<string, readonly string[]>();
  for (const [name, node] of Object.entries(json.graph.nodes)) {
    roots.set(name, node.data.root);
    tags.set(name, node.data.tags ?? []);
    deps.set(name, (json.graph.dependencies[name] ?? []).map((d) => d.target).filter((t) => !t.startsWith('npm:')));
  }
  const personas = [...new Set(Object.values(json.tasks.tasks).map((t) => t.target.project))].sort();
  return { graph: { roots, tags, deps }, personas };
}

/**
 * Ask Nx which persona `check` tasks a change affects, without running them: `--graph=stdout`
 * prints the project graph and the task graph `nx affected -t check` would execute.
 */
export function nxAffected(workspace: string, base: string, head: string | undefined): NxAffected {
  const args = ['affected', '-t', 'check', `--base=${base}`, ...(head ? [`--head=${head}`] : []), `--exclude=${PERSONAS_ONLY}`, '--graph=stdout'];
  let out: string;
  try {
    out = execFileSync(join(workspace, 'node_modules/.bin/nx'), args, { cwd: workspace, encoding: 'utf8', env: nxEnv(), stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (cause) {
    const stderr = String((cause as { stderr?: unknown }).stderr ?? '').trim();
    throw new LabError({
      code: 'LAB_CI_NX',
      summary: `nx ${args.join(' ')} failed${stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : ''}`,
      hint: 'run `pnpm install` first; check that --base names a commit this clone has',
      cause,
    });
  }
  return parseAffectedGraph(out);
}

/**
 * `nx run-many -t check` on the chosen personas. Each check saves its plan where the result
 * can be read back (`$NX_TASK_TARGET_PROJECT` is expanded by the shell of nx:run-commands):
 * Nx only knows pass or fail, and lab's exit 2 (changes pending) is not a failure of the run.
 */
export function runChecks(workspace: string, personas: readonly string[], opts: { readonly outDir: string; readonly parallel: number; readonly labArgs: readonly string[] }): number {
  const args = [
    'run-many',
    '-t',
    'check',
    `--projects=${personas.join(',')}`,
    `--parallel=${opts.parallel}`,
    '--outputStyle=static',
    `--out=${join(opts.outDir, '$NX_TASK_TARGET_PROJECT.plan.json')}`,
    ...opts.labArgs,
  ];
  const r = spawnSync(join(workspace, 'node_modules/.bin/nx'), args, { cwd: workspace, env: nxEnv(), stdio: ['ignore', 2, 2] });
  if (r.error) throw new LabError({ code: 'LAB_CI_NX', summary: `cannot run nx: ${r.error.message}`, hint: 'run `pnpm install` first', cause: r.error });
  return r.status ?? 1;
}
