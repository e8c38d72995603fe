import { isLabError, type Diagnostic } from '@lab/core';
import { listPersonaNames, loadLab, loadPersona, type Lab, type LoadedPersona } from '@lab/intent';
import { readJournal, type JournalRead } from '../journal/read.js';

/** One persona folder as the status page sees it: loaded, or the diagnostics that kept it out. */
export type PersonaRow = { readonly name: string; readonly loaded: LoadedPersona; readonly errors: readonly [] } | { readonly name: string; readonly loaded: undefined; readonly errors: readonly Diagnostic[] };

export interface LabView {
  readonly root: string;
  /** The whole lab when it validates; undefined when lab.yaml or a persona is invalid. */
  readonly lab: Lab | undefined;
  readonly rows: readonly PersonaRow[];
  /** Diagnostics that belong to no single persona (lab.yaml, cross checks). */
  readonly siteErrors: readonly Diagnostic[];
  readonly journal: JournalRead;
}

const errorsOf = (e: unknown): Diagnostic[] | undefined => (isLabError(e) && e.code.startsWith('LAB_INTENT') ? [...(e.diagnostics ?? [])] : undefined);

/**
 * Read the lab for the page, tolerating invalid intent: a lab whose persona does not validate
 * still shows every other persona, and that persona's row carries its diagnostics (file:line:col).
 * Reads only; never writes.
 */
export async function readLabView(root: string): Promise<LabView> {
  const journal = await readJournal(root);
  try {
    const lab = await loadLab(root);
    return { root: lab.root, lab, rows: lab.personas.map((p) => ({ name: p.name, loaded: p, errors: [] as const })), siteErrors: [], journal };
  } catch (error) {
    const all = errorsOf(error);
    if (!all) throw error;
    const names = await listPersonaNames(root).catch(() => [] as string[]);
    const rows: PersonaRow[] = await Promise.all(
      names.map(async (name): Promise<PersonaRow> => {
        const own = all.filter((d) => d.source?.file?.startsWith(`personas/${name}/`));
        try {
          const loaded = await loadPersona(root, name);
          return own.length > 0 ? { name, loaded: undefined, errors: own } : { name, loaded, errors: [] as const };
        } catch (e) {
          return { name, loaded: undefined, errors: own.length > 0 ? own : (errorsOf(e) ?? []) };
        }
      }),
    );
    const siteErrors = all.filter((d) => !rows.some((r) => d.source?.file?.startsWith(`personas/${r.name}/`)));
    return { root, lab: undefined, rows, siteErrors, journal };
  }
}
