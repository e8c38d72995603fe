import { closeSync, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync, constants } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { parseYamlFile, type ParsedFile } from './_tree.js';
import { kib, LIMITS } from './_limits.js';

/**
 * File access for one load. Parsed files are cached per load so a mixin shared by every
 * persona is read and parsed once in `loadLab`. Reads are synchronous on purpose: a lab is a
 * few dozen small files, and a thread-pool round trip per file costs more than the read.
 *
 * Only regular files inside the repository are read (adr/0165): a path that leaves the root,
 * a symlink whose target is outside it, a device, a FIFO or a file over the size limit is
 * refused with the reason — it is never opened for reading past the limit.
 */
export type FileRead =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly why: string; readonly hint: string };

export class LabFiles {
  readonly root: string;
  private realRoot: string | undefined;
  private readonly parsed = new Map<string, ParsedFile | undefined>();
  private readonly reads = new Map<string, FileRead>();

  constructor(root: string) {
    this.root = root;
  }

  private real(): string {
    if (this.realRoot === undefined) {
      try {
        this.realRoot = realpathSync(this.root);
      } catch {
        this.realRoot = this.root;
      }
    }
    return this.realRoot;
  }

  /**
   * Where a lab-root-relative path really is, or why it may not be read. `missing` when it
   * does not exist (a dangling link too).
   */
  locate(file: string, maxBytes: number): { kind: 'ok'; path: string; size: number } | Exclude<FileRead, { kind: 'text' }> {
    const norm = posix.normalize(file);
    if (isAbsolute(file) || norm === '..' || norm.startsWith('../')) {
      return { kind: 'refused', why: `${file} is outside the lab repository`, hint: 'write paths relative to the file that declares them, inside the repository, without ".."' };
    }
    let real: string;
    try {
      real = realpathSync(join(this.root, norm));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      if (code === 'ELOOP') return { kind: 'refused', why: `${file} is a symlink loop`, hint: `replace ${file} with a regular file` };
      throw e;
    }
    const rel = relative(this.real(), real);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
      return { kind: 'refused', why: `${file} leads outside the lab repository (a symlink out)`, hint: `replace ${file} with a regular file inside the repository (lab never follows a link out of it)` };
    }
    const st = statSync(real, { throwIfNoEntry: false });
    if (st === undefined) return { kind: 'missing' };
    if (st.isDirectory()) return { kind: 'missing' };
    if (!st.isFile()) return { kind: 'refused', why: `${file} is not a regular file (a device, socket or FIFO)`, hint: `replace ${file} with a regular file` };
    if (st.size > maxBytes) return { kind: 'refused', why: `${file} is ${kib(Math.ceil(st.size / 1024) * 1024)}, over the limit of ${kib(maxBytes)}`, hint: 'split the file, or move large content into a file referenced by source:' };
    return { kind: 'ok', path: real, size: st.size };
  }

  /** Text of a lab-root-relative file, at most `maxBytes` long. */
  read(file: string, maxBytes: number = LIMITS.referencedFileBytes): FileRead {
    const key = `${maxBytes}:${file}`;
    const cached = this.reads.get(key);
    if (cached !== undefined) return cached;
    const b = this.readBytes(file, maxBytes);
    const r: FileRead = b.kind === 'bytes' ? { kind: 'text', text: b.bytes.toString('utf8') } : b;
    this.reads.set(key, r);
    return r;
  }

  /** Bytes of a lab-root-relative file, at most `maxBytes` long. Not cached. */
  readBytes(file: string, maxBytes: number): { readonly kind: 'bytes'; readonly bytes: Buffer } | Exclude<FileRead, { kind: 'text' }> {
    const where = this.locate(file, maxBytes);
    if (where.kind !== 'ok') return where;
    // O_NOFOLLOW: the resolved path is read, not a link swapped in since; the read is capped
    // even if the file grows after the size check.
    const fd = openSync(where.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    try {
      if (!fstatSync(fd).isFile()) return { kind: 'refused', why: `${file} is not a regular file`, hint: `replace ${file} with a regular file` };
      const buf = Buffer.alloc(maxBytes + 1);
      let n = 0;
      for (;;) {
        const got = readSync(fd, buf, n, buf.length - n, null);
        if (got === 0) break;
        n += got;
        if (n > maxBytes) return { kind: 'refused', why: `${file} is over the limit of ${kib(maxBytes)}`, hint: 'split the file, or move large content into a file referenced by source:' };
      }
      return { kind: 'bytes', bytes: buf.subarray(0, n) };
    } finally {
      closeSync(fd);
    }
  }

  /** Text of a lab-root-relative file, or undefined when it does not exist or may not be read. */
  text(file: string): string | undefined {
    const r = this.read(file);
    return r.kind === 'text' ? r.text : undefined;
  }

  /**
   * Parsed YAML of a lab-root-relative file, or undefined when it does not exist. A refused
   * file parses to no tree and one diagnostic at its first line, marked `refused`.
   */
  yaml(file: string): ParsedFile | undefined {
    if (this.parsed.has(file)) return this.parsed.get(file);
    const r = this.read(file, LIMITS.yamlFileBytes);
    let parsed: ParsedFile | undefined;
    if (r.kind === 'text') parsed = parseYamlFile(file, r.text);
    else if (r.kind === 'refused') {
      parsed = {
        tree: undefined,
        refused: r,
        diagnostics: [{ severity: 'error', code: 'LAB_INTENT_INVALID', summary: r.why, source: { file, line: 1, column: 1 }, path: '', hint: r.hint }],
      };
    }
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

  /** Why a referenced file may not be used, or undefined when it is a readable regular file in the repository. */
  check(file: string, maxBytes: number = LIMITS.referencedFileBytes): { missing: true } | { why: string; hint: string } | undefined {
    const r = this.locate(file, maxBytes);
    if (r.kind === 'ok') return undefined;
    if (r.kind === 'missing') return { missing: true };
    return { why: r.why, hint: r.hint };
  }
}
