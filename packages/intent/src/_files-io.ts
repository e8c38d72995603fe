import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseYamlFile, type ParsedFile } from './_tree.js';

/**
 * File access for one load. Parsed files are cached per load so a mixin shared by every
 * persona is read and parsed once in `loadLab`.
 */
export class LabFiles {
  readonly root: string;
  private readonly parsed = new Map<string, Promise<ParsedFile | undefined>>();
  private readonly texts = new Map<string, Promise<string | undefined>>();

  constructor(root: string) {
    this.root = root;
  }

  /** Text of a lab-root-relative file, or undefined when it does not exist. */
  text(file: string): Promise<string | undefined> {
    let p = this.texts.get(file);
    if (p === undefined) {
      p = readFile(join(this.root, file), 'utf8').then(
        (t) => t,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'EISDIR') return undefined;
          throw e;
        },
      );
      this.texts.set(file, p);
    }
    return p;
  }

  /** Parsed YAML of a lab-root-relative file, or undefined when it does not exist. */
  yaml(file: string): Promise<ParsedFile | undefined> {
    let p = this.parsed.get(file);
    if (p === undefined) {
      p = this.text(file).then((t) => (t === undefined ? undefined : parseYamlFile(file, t)));
      this.parsed.set(file, p);
    }
    return p;
  }

  /** Entries of a lab-root-relative directory ([] when missing). */
  async list(dir: string, kind: 'dirs' | 'files'): Promise<string[]> {
    try {
      const entries = await readdir(join(this.root, dir), { withFileTypes: true });
      return entries.filter((e) => (kind === 'dirs' ? e.isDirectory() : e.isFile())).map((e) => e.name).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  }

  /** Is there a regular file at this lab-root-relative path? */
  async isFile(file: string): Promise<boolean> {
    try {
      return (await stat(join(this.root, file))).isFile();
    } catch {
      return false;
    }
  }
}
