import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The steps of a rebuild, in order. Each is idempotent, so a resumed rebuild may repeat one. */
export const REBUILD_STEPS = ['capture-data', 'capture-vm', 'destroy', 'create', 'converge', 'restore-data', 'deploy', 'verify'] as const;
export type RebuildStep = (typeof REBUILD_STEPS)[number];

/**
 * What a rebuild has done so far, kept in `.lab/rebuild/<persona>.json` until it finishes: the
 * data snapshot taken before the VM was destroyed is the one restored, also after a resume
 * (a fresh capture of an empty new VM would be worse than useless).
 */
export interface RebuildState {
  readonly persona: string;
  readonly startedAt: string;
  readonly done: readonly RebuildStep[];
  /** restic snapshot of the persona's data taken by `capture-data`. */
  readonly snapshot?: string;
  /** vzdump archive of the old VM taken by `capture-vm`. */
  readonly archive?: string;
  readonly failed?: { readonly step: RebuildStep; readonly code: string; readonly summary: string; readonly at: string };
}

export function rebuildStateFile(root: string, persona: string): string {
  return join(root, '.lab', 'rebuild', `${persona}.json`);
}

export async function loadRebuildState(root: string, persona: string): Promise<RebuildState | undefined> {
  try {
    return JSON.parse(await readFile(rebuildStateFile(root, persona), 'utf8')) as RebuildState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function saveRebuildState(root: string, state: RebuildState): Promise<void> {
  const file = rebuildStateFile(root, state.persona);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

export async function clearRebuildState(root: string, persona: string): Promise<void> {
  await rm(rebuildStateFile(root, persona), { force: true });
}
