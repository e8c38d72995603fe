import { LabError } from '@lab/core';
import { LabFiles } from './_files-io.js';
import { LIMITS } from './_limits.js';

/**
 * Read a file the intent references (`source:`, a compose file, an apt key) the way the
 * loaders do: only a regular file inside the repository, never past a symlink that leaves
 * it, never a device, at most `maxBytes` (adr/0165). Layers read their inputs through this,
 * so a link swapped in after `lab validate` still cannot make lab print or upload a file
 * from elsewhere on the workstation (the age identity, an SSH key).
 */
export async function readLabFile(root: string, path: string, what: string, maxBytes: number = LIMITS.referencedFileBytes): Promise<Buffer> {
  const r = new LabFiles(root).readBytes(path, maxBytes);
  if (r.kind === 'bytes') return r.bytes;
  if (r.kind === 'missing') {
    throw new LabError({ code: 'LAB_INTENT_NOT_FOUND', summary: `${what} ${path} does not exist`, hint: 'paths are relative to the YAML file that declares them; run `lab validate`' });
  }
  throw new LabError({ code: 'LAB_INTENT_INVALID', summary: `${what}: ${r.why}`, hint: r.hint });
}
