import { gitDirty, gitHead } from '@lab/core';

/** The lab repository's state a capture is stamped with. */
export interface LabRevision {
  /** Short commit hash, or `none` when the lab is not a Git work tree (or has no commit yet). */
  readonly commit: string;
  /** Uncommitted changes to tracked or untracked files. */
  readonly dirty: boolean;
}

/** `1a2b3c4`, `1a2b3c4-dirty` or `none`: the form notes and manifests carry. */
export function revisionText(r: LabRevision): string {
  return r.commit === 'none' ? 'none' : `${r.commit}${r.dirty ? '-dirty' : ''}`;
}

/**
 * Read the commit the lab at `root` is on. Git is asked, not parsed from `.git/`, so worktrees,
 * packed refs and submodules work; without Git (or outside a work tree) the answer is `none`.
 */
export async function readLabRevision(root: string): Promise<LabRevision> {
  const commit = await gitHead(root);
  if (commit === undefined) return { commit: 'none', dirty: false };
  const dirty = await gitDirty(root);
  return dirty === undefined ? { commit: 'none', dirty: false } : { commit, dirty };
}
