/**
 * How lab recognises the vzdump archives it made (adr/0101): one marker line in the archive's
 * notes, set through vzdump's `notes-template`. Retention only ever deletes archives that carry
 * it, so backups taken by hand or by a Proxmox backup job are never touched.
 */

/** What lab writes into an archive's notes. */
export interface LabBackupNotes {
  readonly persona: string;
  /** Short Git commit of the lab repository, `<hash>-dirty` for uncommitted changes, `none` outside Git. */
  readonly commit: string;
  readonly labVersion: string;
}

const NOTES_RE = /^lab:capture persona=([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?) commit=([A-Za-z0-9._-]+) lab=([A-Za-z0-9.+_-]+)(?: |$)/;

/**
 * The `notes-template` lab passes to vzdump. PVE expands `{{guestname}}`, keeps the line as the
 * notes' first line (the one `storage/content` lists), and refuses backslashes other than `\n`
 * and `\\`; none of the fields can hold one.
 */
export function notesTemplate(notes: LabBackupNotes): string {
  const text = `lab:capture persona=${notes.persona} commit=${notes.commit} lab=${notes.labVersion} vm={{guestname}}`;
  if (!NOTES_RE.test(text)) throw new TypeError(`cannot write backup notes for ${JSON.stringify(notes)}`);
  return text;
}

/** The marker in an archive's notes, or undefined when lab did not make the archive. */
export function parseBackupNotes(notes: string | undefined): LabBackupNotes | undefined {
  if (!notes) return undefined;
  const m = NOTES_RE.exec(notes.split('\n')[0] ?? '');
  return m ? { persona: m[1]!, commit: m[2]!, labVersion: m[3]! } : undefined;
}
