import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlFile, type ParsedFile } from './_tree.js';

/**
 * File access for one load. Parsed files are cached per load so a mixin shared by every
 * persona is read and parsed once in `loadLab`. Reads are synchronous on purpose: a lab is a
 * few dozen small files, and a thread-pool round trip per file costs more than the read.
 */
export class LabFiles {
  readonly root: string;
  private readonly parsed = new Map<string, ParsedFile | undefined>();
  private readonly texts = new Map<string, string | undefined>();

  constructor(root: string) {
    this.root = root;
  }

  /** Text of a lab-root-relative file, or undefined when it does not exist. */
  text(file: string): string | undefined {
    if (this.texts.has(file)) return this.texts.get(file);
    let text: string | undefined;
    try {
      text = readFileSync(join(this.root, file), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw e;
    }
    this.texts.set(file, text);
    return text;
  }

  /** Parsed YAML of a lab-root-relative file, or undefined when it does not exist. */
  yaml(file: string): ParsedFile | undefined {
    if (this.parsed.has(file)) return this.parsed.get(file);
    const text = this.text(file);
    const parsed = text === undefined ? undefined : parseYamlFile(file, text);
    this.parsed.set(file, parsed);
    return parsed;
  }

  /** Entries of a lab-root-relative directory ([] when missing). */
  list(dir: string, kind: 'dirs' | 'files'): string[] {
    try {
      return readdirSync(join(this.root, dir), { withFileTypes: true })
        .filter((e) => (kind === 'dirs' ? e.isDirectory() : e.isFile()))
        .map((e) => e.name)
        .sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw e;
    }
  }

  /** Is there a regular file at this lab-root-relative path? */
  isFile(file: string): boolean {
    return statSync(join(this.root, file), { throwIfNoEntry: false })?.isFile() ?? false;
  }
}
